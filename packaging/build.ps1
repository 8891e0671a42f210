# Build the ChatDesk app for Windows into dist\.
#
#   powershell -ExecutionPolicy Bypass -File packaging\build.ps1 [-Release] [-BundleOnly]
#
# Always: dist\chatdesk\ (one-folder bundle): chatdesk.exe takes the same command line as
# `chatdesk` (console), chatdeskw.exe opens the window without a console (Start menu).
# Then, unless -BundleOnly: dist\ChatDesk-<version>-windows-x64-setup.exe with Inno Setup 6
# (iscc.exe on PATH or in its default folder).
# Python: $env:PYTHON when set, else the checkout's own .venv (python -m venv .venv, then
# .venv\Scripts\pip install -e .[dev,packaging]), never whatever python is on PATH.
# -Release (or CHATDESK_RELEASE=1) refuses a llama.cpp built with native CPU flags (an error;
# otherwise a warning); CHATDESK_SIGN_* signs the executables and the installer (windows\sign.ps1).
param([switch]$Release, [switch]$BundleOnly)
$ErrorActionPreference = "Stop"

Set-Location (Split-Path -Parent $PSScriptRoot)
$venvPython = Join-Path (Get-Location).Path ".venv\Scripts\python.exe"
$python = if ($env:PYTHON) { $env:PYTHON } elseif (Test-Path $venvPython) { $venvPython } else {
    throw "build.ps1: no .venv here: python -m venv .venv; .venv\Scripts\pip install -e .[dev,packaging]"
}
if ($env:CHATDESK_RELEASE -eq "1") { $Release = $true }
Write-Host "== Python: $python"
$env:PYTHONPATH = (Get-Location).Path

function Invoke-Checked([string]$what) {
    if ($LASTEXITCODE -ne 0) { throw "build.ps1: $what failed ($LASTEXITCODE)" }
}

& $python -c "import PyInstaller, PySide6, importlib.util as u; assert u.find_spec('llama_cpp')"
Invoke-Checked "dependency check (pip install -e .[packaging], and llama-cpp-python)"
$version = (& $python -c "import chatdesk; print(chatdesk.__version__)").Trim()
Write-Host "== ChatDesk $version for Windows"

Write-Host "== llama.cpp portability"
& $python packaging\check_llama.py
if ($LASTEXITCODE -ne 0) {
    if ($Release) { throw "build.ps1: error: refusing a release build with a native-only llama.cpp (packaging/build_llama.sh cpu)" }
    Write-Warning "this bundle runs only on CPUs like the build machine's"
}

Write-Host "== PyInstaller"
Remove-Item -Recurse -Force dist\chatdesk -ErrorAction SilentlyContinue
& $python -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build\pyinstaller packaging\chatdesk.spec
Invoke-Checked "PyInstaller"
& dist\chatdesk\chatdesk.exe --version
Invoke-Checked "frozen chatdesk --version"
if ($BundleOnly) { exit 0 }

& powershell -NoProfile -File packaging\windows\sign.ps1 dist\chatdesk\chatdesk.exe dist\chatdesk\chatdeskw.exe
Invoke-Checked "signing the executables"

$iscc = Get-Command iscc.exe -ErrorAction SilentlyContinue
$isccPath = if ($iscc) { $iscc.Source } else { "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
if (-not (Test-Path $isccPath)) { throw "build.ps1: Inno Setup 6 not found (winget install JRSoftware.InnoSetup)" }
$isccArgs = @("/DAppVersion=$version")
if ($env:CHATDESK_SIGN_CERT -or $env:CHATDESK_SIGN_THUMBPRINT) {
    $signer = "powershell -NoProfile -File `"$PWD\packaging\windows\sign.ps1`" `$f"
    $isccArgs += @("/DSign", "/Ssigntool=$signer")
}
& $isccPath @isccArgs packaging\windows\chatdesk.iss
Invoke-Checked "Inno Setup"
Write-Host "installer: dist\ChatDesk-$version-windows-x64-setup.exe"
