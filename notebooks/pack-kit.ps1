# Makes the local package feed the notebooks load the kit from, on any platform (PowerShell 7: pwsh), touching no NuGet
# configuration outside this clone:
#   pwsh notebooks/pack-kit.ps1            (from anywhere)
# The twin of notebooks/pack-kit.sh, which registers its feed in the user's NuGet configuration instead. This one packs
# into notebooks/.feed (or $env:MTK_FEED) and writes notebooks/nuget.config naming that folder (both git-ignored): the
# .NET Interactive kernel, started in the notebooks folder, reads that file when it restores the first cell's
# `#r "nuget: MultiTaskKit.Interactive, *-*"`. Each run packs a fresh prerelease version, so that line picks up the kit
# as it is now; restart the kernel after packing, since a running kernel keeps the version it loaded.
$ErrorActionPreference = 'Stop'
$root = Split-Path -Parent $PSScriptRoot
$notebooks = Join-Path $root 'notebooks'
$feed = if ($env:MTK_FEED) { $env:MTK_FEED } else { Join-Path $notebooks '.feed' }
$version = '0.1.0-local.' + [DateTime]::UtcNow.ToString('yyyyMMddHHmmss')
New-Item -ItemType Directory -Force -Path $feed | Out-Null
$feed = (Resolve-Path $feed).Path
Get-ChildItem -Path $feed -Filter 'MultiTaskKit.*.nupkg' -ErrorAction SilentlyContinue | Remove-Item -Force
# Every project the notebooks load: the extension package depends on the other two.
foreach ($project in 'lib/MultiTaskKit', 'lib/MultiTaskKit.Charts', 'lib/MultiTaskKit.Interactive') {
    dotnet pack (Join-Path $root $project) -c Release -o $feed "-p:Version=$version" -v q -nologo
    if ($LASTEXITCODE -ne 0) { throw "dotnet pack $project failed (exit $LASTEXITCODE)" }
}
$config = Join-Path $notebooks 'nuget.config'
$xml = @"
<?xml version="1.0" encoding="utf-8"?>
<!-- Written by notebooks/pack-kit.ps1: the local package feed of the kit, for this clone only. -->
<configuration>
  <packageSources>
    <add key="multitaskkit-local" value="$([System.Security.SecurityElement]::Escape($feed))" />
  </packageSources>
</configuration>
"@
Set-Content -Path $config -Value $xml -Encoding utf8NoBOM
Write-Output "MultiTaskKit $version packed into $feed; $config names it (restart a running kernel to load it)."
