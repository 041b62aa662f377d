<#
.SYNOPSIS
Telework: facts of a personal computer for the security unit (Windows).

.DESCRIPTION
Gathers what the security unit checks before a personal computer may join the telework
VPN (Windows edition and licence, updates, antivirus, browsers, hacking tools, work
documents, Wi-Fi, screen lock, administrator account) into a report sealed with the
one-time token it gave you. It changes nothing and sends nothing. Only what the checks
need is reported: the outputs of the Windows commands below, the names of hacking tools
and the paths of work documents found, not your files or your software list.

Run it beside enrolment.json, in Windows PowerShell 5.1 or PowerShell 7:
    powershell -ExecutionPolicy Bypass -File byod_collect.ps1
It asks for the token.
#>
[CmdletBinding()]
param(
    [string]$Enrolment = (Join-Path $PSScriptRoot 'enrolment.json'),
    [string]$Output = '',
    [string]$Token = $env:TELEWORK_BYOD_TOKEN
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$FactsFormat = 'telework-byod-facts/1'
$ReportFormat = 'telework-byod-report/1'
$EnrolmentFormat = 'telework-byod-enrolment/1'
$Collector = 'byod_collect.ps1 1'
$MaxText = 60000
$Problems = New-Object System.Collections.ArrayList

function Get-Fact {
    <# The value of $Block, or $null with the reason noted in the report. #>
    param([string]$Name, [scriptblock]$Block)
    try {
        $value = & $Block
        return , $value  # one object, arrays kept whole (a lone item stays a list)
    } catch {
        $message = "$($_.Exception.GetType().Name): $($_.Exception.Message)"
        [void]$Problems.Add([ordered]@{ fact = $Name; message = $message.Substring(0, [Math]::Min(500, $message.Length)) })
        return $null
    }
}

function Limit-Text {
    param([string]$Text)
    if ($null -eq $Text) { return $null }
    return $Text.Substring(0, [Math]::Min($MaxText, $Text.Length))
}

function Get-WindowsFacts {
    <# Outputs of Windows' own commands, judged by the toolkit (toolkit/byod/windows.py). #>
    $os = Get-Fact 'windows.os' {
        $info = Get-CimInstance -ClassName Win32_OperatingSystem
        $display = (Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion' -Name DisplayVersion -ErrorAction SilentlyContinue)
        [ordered]@{
            Caption = [string]$info.Caption
            Version = [string]$info.Version
            BuildNumber = [string]$info.BuildNumber
            DisplayVersion = if ($display) { [string]$display.DisplayVersion } else { '' }
        }
    }
    $licences = Get-Fact 'windows.licences' {
        $filter = "PartialProductKey IS NOT NULL AND ApplicationID='55c92734-d682-4d71-983e-d6ec3f16059f'"
        , @(Get-CimInstance -ClassName SoftwareLicensingProduct -Filter $filter |
            ForEach-Object { [ordered]@{ Name = [string]$_.Name; LicenseStatus = [int]$_.LicenseStatus } })
    }
    $hotfixes = Get-Fact 'windows.hotfixes' {
        , @(Get-CimInstance -ClassName Win32_QuickFixEngineering |
            ForEach-Object { [ordered]@{ HotFixID = [string]$_.HotFixID; InstalledOn = [string]$_.InstalledOn } })
    }
    $defender = Get-Fact 'windows.defender' {
        $mp = Get-MpComputerStatus
        [ordered]@{
            AMServiceEnabled = [bool]$mp.AMServiceEnabled
            AntivirusEnabled = [bool]$mp.AntivirusEnabled
            RealTimeProtectionEnabled = [bool]$mp.RealTimeProtectionEnabled
            AntivirusSignatureLastUpdated = $mp.AntivirusSignatureLastUpdated.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
        }
    }
    $products = Get-Fact 'windows.av_products' {
        , @(Get-CimInstance -Namespace 'root/SecurityCenter2' -ClassName AntiVirusProduct |
            ForEach-Object { [ordered]@{ displayName = [string]$_.displayName; productState = [int64]$_.productState; timestamp = [string]$_.timestamp } })
    }
    $wlan = Get-Fact 'windows.wlan' { Limit-Text ((& netsh.exe wlan show interfaces) -join "`n") }
    $groups = Get-Fact 'windows.groups' { Limit-Text ((& whoami.exe /groups /fo csv) -join "`n") }
    $lock = Get-Fact 'windows.lock' {
        $desktop = Get-ItemProperty 'HKCU:\Control Panel\Desktop' -ErrorAction SilentlyContinue
        $policy = Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System' -ErrorAction SilentlyContinue
        function Get-Value($Item, $Name) {
            if ($Item -and $Item.PSObject.Properties[$Name]) { return [string]$Item.$Name } else { return $null }
        }
        $inactivity = Get-Value $policy 'InactivityTimeoutSecs'
        [ordered]@{
            ScreenSaveActive = Get-Value $desktop 'ScreenSaveActive'
            ScreenSaverIsSecure = Get-Value $desktop 'ScreenSaverIsSecure'
            ScreenSaveTimeOut = Get-Value $desktop 'ScreenSaveTimeOut'
            InactivityTimeoutSecs = if ($null -ne $inactivity) { [int]$inactivity } else { $null }
        }
    }
    return [ordered]@{
        os = $os; licences = $licences; hotfixes = $hotfixes; defender = $defender
        av_products = $products; wlan = $wlan; groups = $groups; user = [string]$env:USERNAME
        lock = $lock
    }
}

function Get-Browsers {
    $places = @(
        @('chrome', 'Google\Chrome\Application\chrome.exe'),
        @('edge', 'Microsoft\Edge\Application\msedge.exe'),
        @('firefox', 'Mozilla Firefox\firefox.exe'),
        @('brave', 'BraveSoftware\Brave-Browser\Application\brave.exe'),
        @('opera', 'Programs\Opera\opera.exe')
    )
    $roots = @($env:ProgramFiles, ${env:ProgramFiles(x86)}, $env:LOCALAPPDATA) | Where-Object { $_ }
    $found = [ordered]@{}
    foreach ($place in $places) {
        foreach ($root in $roots) {
            $path = Join-Path $root $place[1]
            if (-not $found.Contains($place[0]) -and (Test-Path -LiteralPath $path -PathType Leaf)) {
                $found[$place[0]] = [string](Get-Item -LiteralPath $path).VersionInfo.ProductVersion
            }
        }
    }
    return , @($found.Keys | ForEach-Object { [ordered]@{ name = $_; version = $found[$_] } })
}

function Get-Tools {
    param($Names)
    $found = New-Object System.Collections.ArrayList
    $keys = @(
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*',
        'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*',
        'HKCU:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*'
    )
    $installed = @(Get-ItemProperty $keys -ErrorAction SilentlyContinue |
        Where-Object { $_.PSObject.Properties['DisplayName'] } | ForEach-Object { [string]$_.DisplayName })
    foreach ($name in $Names) {
        $command = Get-Command $name -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        if ($command) { [void]$found.Add([ordered]@{ name = $name; path = [string]$command.Source }) }
        $pattern = '^' + [regex]::Escape($name) + '\b'
        foreach ($display in $installed) {
            if ($display -match $pattern) { [void]$found.Add([ordered]@{ name = $name; path = "installed: $display" }) }
        }
    }
    return [ordered]@{ searched = @($Names); found = @($found) }
}

function Read-Document {
    <# The text of a document, at most $Limit bytes read: office files by their XML parts. #>
    param([string]$Path, [int]$Limit)
    try {
        $stream = [System.IO.File]::OpenRead($Path)
        try {
            $head = New-Object byte[] 4
            $null = $stream.Read($head, 0, 4)
            if ($head[0] -eq 0x50 -and $head[1] -eq 0x4B) {
                Add-Type -AssemblyName System.IO.Compression
                $stream.Position = 0
                $zip = New-Object System.IO.Compression.ZipArchive($stream)
                $parts = foreach ($entry in $zip.Entries) {
                    if ($entry.FullName -match '^(word/document|xl/sharedStrings|ppt/slides/slide\d+|content)\.xml$') {
                        $reader = New-Object System.IO.StreamReader($entry.Open())
                        $buffer = New-Object char[] $Limit
                        $count = $reader.ReadBlock($buffer, 0, $Limit)
                        $reader.Dispose()
                        (New-Object string($buffer, 0, $count)) -replace '<[^>]{0,2000}>', ' '
                    }
                }
                return ($parts -join ' ')
            }
            $stream.Position = 0
            $bytes = (New-Object System.IO.BinaryReader($stream)).ReadBytes($Limit)
            return [System.Text.Encoding]::UTF8.GetString($bytes)
        } finally {
            $stream.Dispose()
        }
    } catch {
        return ''
    }
}

function Get-WorkData {
    param($Search)
    $found = New-Object System.Collections.ArrayList
    $scanned = 0
    $complete = $true
    $profileDir = [Environment]::GetFolderPath('UserProfile')
    foreach ($place in $Search.places) {
        $top = if ($place -eq '.') { $profileDir } else { Join-Path $profileDir $place }
        if (-not (Test-Path -LiteralPath $top -PathType Container)) { continue }
        $depth = if ($place -eq '.') { 0 } else { [int]$Search.max_depth }
        $files = Get-ChildItem -LiteralPath $top -File -Recurse -Depth $depth -ErrorAction SilentlyContinue |
            Where-Object { $Search.extensions -contains $_.Extension.ToLowerInvariant() -and -not ($_.Attributes -band [IO.FileAttributes]::ReparsePoint) } |
            Sort-Object FullName
        foreach ($file in $files) {
            if ($scanned -ge [int]$Search.max_files) { $complete = $false; break }
            $scanned++
            $text = Read-Document -Path $file.FullName -Limit ([int]$Search.max_bytes)
            foreach ($marker in $Search.markers) {
                if ($text.IndexOf([string]$marker, [StringComparison]::OrdinalIgnoreCase) -ge 0) {
                    $relative = $file.FullName.Substring($profileDir.Length).TrimStart('\')
                    [void]$found.Add([ordered]@{ path = $relative; marker = [string]$marker })
                    break
                }
            }
        }
    }
    return [ordered]@{
        markers = @($Search.markers); places = @($Search.places); scanned = $scanned
        complete = $complete; found = @($found)
    }
}

function Get-Seal {
    <# HMAC-SHA256 over the format, the token ID and the body, keyed by SHA-256(token). #>
    param([string]$TokenText, [string]$TokenId, [string]$Body)
    $utf8 = New-Object System.Text.UTF8Encoding($false)
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $hmac = New-Object System.Security.Cryptography.HMACSHA256(, $sha.ComputeHash($utf8.GetBytes($TokenText)))
    $mac = $hmac.ComputeHash($utf8.GetBytes("$ReportFormat`n$TokenId`n$Body"))
    return -join ($mac | ForEach-Object { $_.ToString('x2') })
}

$enrolmentData = Get-Content -LiteralPath $Enrolment -Raw -Encoding UTF8 | ConvertFrom-Json
if ($enrolmentData.format -ne $EnrolmentFormat) {
    [Console]::Error.WriteLine("$Enrolment is not an enrolment of the security unit")
    exit 2
}
if (-not $Token) {
    $secure = Read-Host -Prompt 'Token' -AsSecureString
    $Token = [Runtime.InteropServices.Marshal]::PtrToStringBSTR([Runtime.InteropServices.Marshal]::SecureStringToBSTR($secure))
}
$Token = $Token.Trim()
if ($Token.Split('.')[0] -ne $enrolmentData.token_id) {
    [Console]::Error.WriteLine('this token is not the one of this enrolment: ask the security unit')
    exit 2
}
$search = $enrolmentData.search
$facts = [ordered]@{
    format = $FactsFormat
    teleworker = [string]$enrolmentData.teleworker
    device = [string]$enrolmentData.device
    token_id = [string]$enrolmentData.token_id
    collected_at = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
    collector = $Collector
    os = $null
    last_update = $null
    antivirus = $null
    browsers = Get-Fact 'browsers' { Get-Browsers }
    tools = Get-Fact 'tools' { Get-Tools -Names @($search.tools) }
    work_data = Get-Fact 'work_data' { Get-WorkData -Search $search }
    wifi = $null
    session = $null
    windows = Get-WindowsFacts
}
$facts['problems'] = @($Problems)
$body = $facts | ConvertTo-Json -Depth 8 -Compress
$report = [ordered]@{
    format = $ReportFormat
    token_id = [string]$enrolmentData.token_id
    body = $body
    hmac_sha256 = Get-Seal -TokenText $Token -TokenId $enrolmentData.token_id -Body $body
}
if (-not $Output) { $Output = Join-Path (Get-Location) "byod-report-$($enrolmentData.device).json" }
[System.IO.File]::WriteAllText($Output, ($report | ConvertTo-Json -Depth 2), (New-Object System.Text.UTF8Encoding($false)))
Write-Output "report written to ${Output}: hand it to the security unit"
foreach ($problem in $Problems) { Write-Warning "not gathered: $($problem.fact): $($problem.message)" }
