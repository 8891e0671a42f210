# Authenticode-sign files with signtool.exe. A no-op unless a certificate is configured.
#
#   powershell -File packaging\windows\sign.ps1 FILE [FILE...]
#
# CHATDESK_SIGN_CERT       path to a .pfx file (outside the repository), with
# CHATDESK_SIGN_PASSWORD   its password; or
# CHATDESK_SIGN_THUMBPRINT the SHA-1 thumbprint of a certificate in the user's store
#                          (hardware tokens, cloud HSM key providers).
# CHATDESK_TIMESTAMP_URL   RFC 3161 timestamp server (default: http://timestamp.digicert.com).
# Unset: prints that the files stay unsigned and exits 0 (SmartScreen will warn users).
param([Parameter(Mandatory = $true, ValueFromRemainingArguments = $true)][string[]]$Files)
$ErrorActionPreference = "Stop"

$timestamp = if ($env:CHATDESK_TIMESTAMP_URL) { $env:CHATDESK_TIMESTAMP_URL } else { "http://timestamp.digicert.com" }
if ($env:CHATDESK_SIGN_CERT) {
    $identity = @("/f", $env:CHATDESK_SIGN_CERT, "/p", $env:CHATDESK_SIGN_PASSWORD)
} elseif ($env:CHATDESK_SIGN_THUMBPRINT) {
    $identity = @("/sha1", $env:CHATDESK_SIGN_THUMBPRINT)
} else {
    Write-Host "sign.ps1: no CHATDESK_SIGN_CERT or CHATDESK_SIGN_THUMBPRINT: left unsigned: $Files"
    exit 0
}
& signtool.exe sign /fd sha256 /tr $timestamp /td sha256 @identity @Files
if ($LASTEXITCODE -ne 0) { throw "signtool failed ($LASTEXITCODE)" }
