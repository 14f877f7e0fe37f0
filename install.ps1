<#
.SYNOPSIS
    Install (or remove) the xlfrontier Excel add-in for the current user.

.DESCRIPTION
    Per user, no administrator rights, nothing global changed:

      1. checks for Python 3.10 or newer (the py launcher) and that Excel is closed;
      2. creates a virtual environment in %LOCALAPPDATA%\xlfrontier\venv and installs
         xlfrontier with its [addin] extra, from the folder this script is in or from -Wheel;
      3. builds xlfrontier.xlam with that environment's xlwings ("xlfrontier addin build"),
         copies it to %APPDATA%\Microsoft\Excel\XLSTART and removes the downloaded-file mark;
      4. writes %USERPROFILE%\.xlfrontier\xlfrontier.conf ("xlfrontier addin config");
      5. copies the workbook template to Documents\xlfrontier;
      6. runs "xlfrontier doctor" and prints its verdict: every check passed, or the checks
         that failed and what to do.

    Running it again upgrades in place. -Uninstall removes exactly what it added.
    -Check prints the doctor's full report: on an existing install it only checks (nothing is
    changed); without one it installs first.

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File .\install.ps1

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File .\install.ps1 -Wheel .\xlfrontier-0.1.0-py3-none-any.whl

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File .\install.ps1 -Check

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File .\install.ps1 -Uninstall
#>
[CmdletBinding()]
param(
    # Remove the add-in, its settings, the template copy and the virtual environment.
    [switch]$Uninstall,
    # Print the full report of "xlfrontier doctor" (what the ribbon's Diagnose button shows);
    # on an existing install nothing is installed or changed.
    [switch]$Check,
    # Install from this wheel instead of the folder the script is in.
    [string]$Wheel = '',
    # Use this python.exe (3.10 or newer) instead of asking the py launcher.
    [string]$Python = '',
    # Workbook template to copy to Documents\xlfrontier (default: the one next to this script,
    # else the one inside the installed package).
    [string]$Template = ''
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$AppName = 'xlfrontier'
$InstallRoot = Join-Path $env:LOCALAPPDATA $AppName
$VenvDir = Join-Path $InstallRoot 'venv'
$VenvPython = Join-Path $VenvDir 'Scripts\python.exe'
$VenvCli = Join-Path $VenvDir 'Scripts\xlfrontier.exe'
$BuiltAddin = Join-Path $InstallRoot 'build\xlfrontier.xlam'
$XlStartDir = Join-Path $env:APPDATA 'Microsoft\Excel\XLSTART'
$AddinTarget = Join-Path $XlStartDir 'xlfrontier.xlam'
$ConfigDir = Join-Path $env:USERPROFILE ".$AppName"
$ConfigFile = Join-Path $ConfigDir "$AppName.conf"
# The real Documents folder, also when it is redirected (e.g. to OneDrive).
$DocumentsDir = Join-Path ([Environment]::GetFolderPath('MyDocuments')) $AppName
$TemplateTarget = Join-Path $DocumentsDir 'xlfrontier_template.xlsx'
$MinimumPython = [version]'3.10'

function Write-Step {
    param([string]$Message)

    Write-Host ''
    Write-Host "==> $Message" -ForegroundColor Cyan
}

function Write-Detail {
    param([string]$Message)

    Write-Host "    $Message"
}

# Runs a program and stops the installation if it fails: PowerShell does not do that by
# itself for programs (as opposed to cmdlets), it only sets $LASTEXITCODE. Exit codes in
# -AllowedExitCodes are not failures (the caller reads $LASTEXITCODE afterwards).
function Invoke-Checked {
    param(
        [Parameter(Mandatory = $true)][string]$FilePath,
        [string[]]$ArgumentList = @(),
        [int[]]$AllowedExitCodes = @(0)
    )

    Write-Host "    > $FilePath $($ArgumentList -join ' ')" -ForegroundColor DarkGray
    & $FilePath @ArgumentList
    if ($AllowedExitCodes -notcontains $LASTEXITCODE) {
        throw "$FilePath failed (exit code $LASTEXITCODE). See the messages above."
    }
}

function Wait-ExcelClosed {
    # Files in XLSTART are locked while Excel runs, and a running Excel would keep the old
    # add-in loaded.
    while (Get-Process -Name 'EXCEL' -ErrorAction SilentlyContinue) {
        Write-Host ''
        Write-Host 'Excel is running. Save your work and close every Excel window.' -ForegroundColor Yellow
        $answer = Read-Host 'Press Enter when Excel is closed (or type Q to cancel)'
        if ($answer -match '^\s*[qQ]') {
            throw 'Cancelled: Excel is still running. Nothing was changed.'
        }
    }
}

function Stop-LeftoverServers {
    # With Excel closed, a function server of THIS environment still running would keep its
    # files locked. The add-in starts it as "<venv>\Scripts\pythonw.exe -B -c ...xlwings.serve(...)";
    # a venv's pythonw.exe is a launcher that runs the base interpreter as its child with the
    # same arguments. Only those processes are stopped: xlwings servers of other add-ins and
    # environments on the machine are left alone.
    $scripts = (Join-Path $VenvDir 'Scripts').TrimEnd('\') + '\'
    $serving = @(Get-CimInstance -ClassName Win32_Process -Filter "Name LIKE 'python%'" -ErrorAction SilentlyContinue |
        Where-Object { $_.CommandLine -and $_.CommandLine.Contains('xlwings.serve(') })
    $ours = @($serving | Where-Object {
        ($_.ExecutablePath -and $_.ExecutablePath.StartsWith($scripts, [System.StringComparison]::OrdinalIgnoreCase)) -or
        $_.CommandLine.TrimStart('"').StartsWith($scripts, [System.StringComparison]::OrdinalIgnoreCase)
    })
    $launchers = @($ours | ForEach-Object { $_.ProcessId })
    $children = @($serving | Where-Object { ($launchers -contains $_.ParentProcessId) -and ($launchers -notcontains $_.ProcessId) })
    foreach ($server in @($children + $ours)) {
        Write-Detail "stopping a leftover xlfrontier Python server (process $($server.ProcessId))"
        Stop-Process -Id $server.ProcessId -Force -ErrorAction SilentlyContinue
    }
}

function Find-BasePython {
    # The command prints the interpreter path and its version as major*100+minor: the program
    # has no quotes, which Windows PowerShell 5.1 would mangle on the way to py.exe.
    $probe = 'import sys; print(sys.executable); print(sys.version_info[0] * 100 + sys.version_info[1])'
    if ($Python -ne '') {
        $exe = $Python
        $launcherArgs = @()
    }
    else {
        if (-not (Get-Command 'py' -ErrorAction SilentlyContinue)) {
            throw ('The Python launcher (py) was not found. Install Python 3.10 or newer from ' +
                'https://www.python.org/downloads/ (keep "py launcher" ticked), or pass -Python C:\path\to\python.exe.')
        }
        # "py -3" starts the newest Python 3 installed.
        $exe = 'py'
        $launcherArgs = @('-3')
    }
    $output = & $exe @launcherArgs -c $probe
    if ($LASTEXITCODE -ne 0 -or @($output).Count -lt 2) {
        throw "Could not run Python ($exe). Install Python $MinimumPython or newer from https://www.python.org/downloads/."
    }
    $lines = @($output)
    $number = [int]$lines[-1]
    $version = [version]('{0}.{1}' -f [math]::Floor($number / 100), ($number % 100))
    if ($version -lt $MinimumPython) {
        throw "Python $version found; xlfrontier needs $MinimumPython or newer. Install it from https://www.python.org/downloads/."
    }
    Write-Detail "Python $version at $($lines[-2])"
    return $lines[-2]
}

function Get-ExcelBitness {
    # Click-to-Run Office (Microsoft 365, 2019, 2021 and most 2016) records its platform here;
    # it is only read. Returns 0 when unknown: the doctor then compares nothing.
    $key = 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Office\ClickToRun\Configuration'
    $item = Get-ItemProperty -LiteralPath $key -ErrorAction SilentlyContinue
    if ($null -eq $item -or -not ($item.PSObject.Properties.Name -contains 'Platform')) {
        return 0
    }
    switch ($item.Platform) {
        'x64' { return 64 }
        'x86' { return 32 }
    }
    return 0
}

# Runs "xlfrontier doctor" with the environment's Python and prints its report: in full with
# -Full, else the verdict (and the failed checks with what to do). Returns $true when no
# check failed. The report is read from the UTF-8 file the doctor writes, not from the
# console, so that paths with any characters come through.
function Invoke-Doctor {
    param([switch]$Full)

    $report = [System.IO.Path]::GetTempFileName()
    $doctorArgs = @('-m', 'xlfrontier', 'doctor', '--report', $report)
    $bits = Get-ExcelBitness
    if ($bits -ne 0) {
        $doctorArgs += @('--excel-bitness', "$bits")
    }
    try {
        # Exit code 1 means a check failed: that is the verdict, not an installer error.
        Invoke-Checked $VenvPython $doctorArgs -AllowedExitCodes @(0, 1) | Out-Null
        $passed = ($LASTEXITCODE -eq 0)
        $lines = @(Get-Content -LiteralPath $report -Encoding UTF8)
    }
    finally {
        Remove-Item -LiteralPath $report -Force -ErrorAction SilentlyContinue
    }
    foreach ($line in $lines) {
        if ($Full -or $line -like 'FAIL*' -or $line -like 'What to do:*') {
            $color = if ($line -like 'OK*') { 'Green' } elseif ($line -like 'SKIP*') { 'DarkGray' } else { 'Yellow' }
            Write-Host "    $line" -ForegroundColor $color
        }
    }
    if ($passed) {
        Write-Host 'Check: every check passed.' -ForegroundColor Green
    }
    else {
        Write-Host 'Check: a check failed (see above). In Excel, Portfolio > Diagnose runs the same checks.' -ForegroundColor Yellow
        if (-not $Full) {
            Write-Host 'For the full report run: powershell -ExecutionPolicy Bypass -File .\install.ps1 -Check'
        }
    }
    return $passed
}

function Get-PackageSource {
    if ($Wheel -ne '') {
        $path = (Resolve-Path -LiteralPath $Wheel).Path
        return [pscustomobject]@{ Path = $path; IsWheel = $true }
    }
    if (Test-Path -LiteralPath (Join-Path $PSScriptRoot 'pyproject.toml')) {
        return [pscustomobject]@{ Path = $PSScriptRoot; IsWheel = $false }
    }
    $wheels = @(Get-ChildItem -LiteralPath $PSScriptRoot -Filter 'xlfrontier-*.whl' | Sort-Object Name)
    if ($wheels.Count -gt 0) {
        return [pscustomobject]@{ Path = $wheels[-1].FullName; IsWheel = $true }
    }
    throw "Found neither pyproject.toml nor an xlfrontier wheel in $PSScriptRoot; pass -Wheel PATH."
}

function Find-Template {
    if ($Template -ne '') {
        return (Resolve-Path -LiteralPath $Template).Path
    }
    $candidates = @(
        (Join-Path $PSScriptRoot 'workbook_templates\xlfrontier_template.xlsx'),
        (Join-Path $PSScriptRoot 'xlfrontier_template.xlsx'),
        # The copy inside the installed wheel (install.ps1 -Wheel with nothing beside it).
        (Join-Path $VenvDir 'Lib\site-packages\xlfrontier\workbook_templates\xlfrontier_template.xlsx')
    )
    foreach ($candidate in $candidates) {
        if (Test-Path -LiteralPath $candidate) {
            return $candidate
        }
    }
    return ''
}

function Remove-IfEmpty {
    param([string]$Folder)

    if ((Test-Path -LiteralPath $Folder) -and -not (Get-ChildItem -LiteralPath $Folder -Force)) {
        Remove-Item -LiteralPath $Folder
        Write-Detail "removed the empty folder $Folder"
    }
}

function Remove-IfPresent {
    param([string]$Path)

    if (Test-Path -LiteralPath $Path) {
        Remove-Item -LiteralPath $Path -Recurse -Force
        Write-Detail "removed $Path"
    }
    else {
        Write-Detail "not present: $Path"
    }
}

function Uninstall-Xlfrontier {
    Write-Step 'Checking that Excel is closed'
    Wait-ExcelClosed
    Stop-LeftoverServers

    Write-Step 'Removing the add-in from XLSTART'
    Remove-IfPresent $AddinTarget

    Write-Step 'Removing the settings file'
    Remove-IfPresent $ConfigFile
    Remove-IfEmpty $ConfigDir

    Write-Step 'Removing the template copy (your own workbooks in that folder stay)'
    Remove-IfPresent $TemplateTarget
    Remove-IfEmpty $DocumentsDir

    Write-Step 'Removing the Python environment'
    Remove-IfPresent $InstallRoot

    Write-Host ''
    Write-Host 'xlfrontier is uninstalled. Workbooks that use its functions show #NAME? until it is installed again.' -ForegroundColor Green
}

function Install-Xlfrontier {
    Write-Step "Checking for Python $MinimumPython or newer"
    $basePython = Find-BasePython

    Write-Step 'Checking that Excel is closed'
    Wait-ExcelClosed
    Stop-LeftoverServers

    Write-Step "Creating the Python environment in $VenvDir"
    $healthy = $false
    if (Test-Path -LiteralPath $VenvPython) {
        & $VenvPython -c 'import sys'
        $healthy = ($LASTEXITCODE -eq 0)
    }
    if ($healthy) {
        Write-Detail 'already there: upgrading it in place'
    }
    else {
        if (Test-Path -LiteralPath $VenvDir) {
            Write-Detail 'the existing environment does not run (was its Python removed?): recreating it'
            Remove-Item -LiteralPath $VenvDir -Recurse -Force
        }
        Invoke-Checked $basePython @('-m', 'venv', $VenvDir)
    }
    if (-not (Test-Path -LiteralPath $VenvPython)) {
        # The Microsoft Store Python redirects writes under %LOCALAPPDATA% to a private folder.
        throw ("The environment was created but $VenvPython does not exist. If this is the Microsoft " +
            'Store Python, install Python from https://www.python.org/downloads/ and run again.')
    }

    Write-Step 'Installing xlfrontier and its dependencies (this takes a few minutes the first time)'
    $source = Get-PackageSource
    Write-Detail "from $($source.Path)"
    Invoke-Checked $VenvPython @('-m', 'pip', 'install', '--upgrade', '--disable-pip-version-check', "$($source.Path)[addin]")
    if ($source.IsWheel) {
        # pip keeps an installed wheel of the same version number: replace it all the same.
        Invoke-Checked $VenvPython @('-m', 'pip', 'install', '--force-reinstall', '--no-deps', '--disable-pip-version-check', $source.Path)
    }

    Write-Step 'Building the add-in from the installed xlwings'
    Invoke-Checked $VenvCli @('addin', 'build', '--out', $BuiltAddin)

    Write-Step "Copying the add-in to $XlStartDir"
    New-Item -ItemType Directory -Force -Path $XlStartDir | Out-Null
    Copy-Item -LiteralPath $BuiltAddin -Destination $AddinTarget -Force
    # Drop the Mark of the Web so that Office does not block the add-in's macros.
    Unblock-File -LiteralPath $AddinTarget
    Write-Detail "installed $AddinTarget"

    Write-Step 'Copying the workbook template to your Documents'
    $templateSource = Find-Template
    $configArgs = @('addin', 'config', '--venv', $VenvDir)
    if ($templateSource -ne '') {
        New-Item -ItemType Directory -Force -Path $DocumentsDir | Out-Null
        Copy-Item -LiteralPath $templateSource -Destination $TemplateTarget -Force
        Unblock-File -LiteralPath $TemplateTarget
        Write-Detail "installed $TemplateTarget"
        $configArgs += @('--template', $TemplateTarget)
    }
    else {
        Write-Warning 'No workbook template found (workbook_templates\xlfrontier_template.xlsx); "New from template" will not work. Pass -Template PATH.'
    }

    Write-Step "Writing the settings file $ConfigFile"
    Invoke-Checked $VenvCli $configArgs

    Write-Host ''
    Write-Host 'xlfrontier is installed.' -ForegroundColor Green
    Write-Host @"

Next steps:
  1. Start Excel. A "Portfolio" tab appears in the ribbon.
  2. In any workbook type for example =MINVAR_WEIGHTS(mu, cov, target); the first call starts
     Python and takes a few seconds.
  3. Portfolio > New from template opens a ready-made example.

If the tab does not appear or cells show #NAME?: click Portfolio > Diagnose if the tab is
there, else run this script with -Check; each failed check says what to do. The add-in
loads from the trusted folder
$XlStartDir
unless your organisation's policies say otherwise (see Troubleshooting in the README).
Run this script again to upgrade; run it with -Uninstall to remove everything it installed.
"@
}

try {
    if ($Uninstall -and $Check) {
        throw '-Check and -Uninstall cannot be combined.'
    }
    if ($Uninstall) {
        Uninstall-Xlfrontier
    }
    else {
        $checkOnly = $Check -and (Test-Path -LiteralPath $VenvPython)
        if (-not $checkOnly) {
            Install-Xlfrontier
        }
        # Every install ends with the doctor's verdict; -Check prints its whole report.
        Write-Step 'Checking the installation (xlfrontier doctor)'
        if ($checkOnly) {
            Write-Detail "the existing install in $VenvDir; nothing is changed"
        }
        if (-not (Invoke-Doctor -Full:$Check)) {
            exit 1
        }
    }
}
catch {
    Write-Host ''
    Write-Host "Error: $($_.Exception.Message)" -ForegroundColor Red
    exit 1
}
