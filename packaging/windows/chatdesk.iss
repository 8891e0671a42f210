; Inno Setup 6 script: the ChatDesk installer for Windows (x64).
; Built by packaging\build.ps1 after PyInstaller has written dist\chatdesk\:
;   iscc /DAppVersion=0.1.0 packaging\windows\chatdesk.iss
; Output: dist\ChatDesk-<version>-windows-x64-setup.exe
; Signing: build.ps1 passes /DSign and /Ssigntool=... when CHATDESK_SIGN_* is set (see sign.ps1).
;
; Chats and models live in the user's data folder (%LOCALAPPDATA%\ChatDesk), not in {app}:
; updating or uninstalling ChatDesk never deletes them.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define Root "..\.."

[Setup]
; AppId identifies ChatDesk for upgrades and uninstall: never change it.
AppId={{C686C956-1859-4D99-A053-DEDECE812745}
AppName=ChatDesk
AppVersion={#AppVersion}
AppVerName=ChatDesk {#AppVersion}
AppPublisher=ChatDesk contributors
DefaultDirName={autopf}\ChatDesk
DefaultGroupName=ChatDesk
DisableProgramGroupPage=yes
; Per-user install by default (no administrator rights); the dialog offers all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
SetupIconFile={#Root}\resources\icons\chatdesk.ico
UninstallDisplayIcon={app}\chatdeskw.exe
OutputDir={#Root}\dist
OutputBaseFilename=ChatDesk-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; Close a running ChatDesk (and its engine host) before replacing files.
CloseApplications=yes
#ifdef Sign
SignTool=signtool
SignedUninstaller=yes
#endif

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Root}\dist\chatdesk\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An update replaces the whole bundle: stale libraries of an older version must not linger.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\ChatDesk"; Filename: "{app}\chatdeskw.exe"; WorkingDir: "{app}"
Name: "{autodesktop}\ChatDesk"; Filename: "{app}\chatdeskw.exe"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\chatdeskw.exe"; Description: "{cm:LaunchProgram,ChatDesk}"; Flags: nowait postinstall skipifsilent
