#!/usr/bin/env bash
# Makes the local package feed the notebooks load the kit from, and registers it once as a user-level NuGet source.
#   bash notebooks/pack-kit.sh            (from anywhere)
# The feed lives in a fixed folder outside the clone (MTK_FEED, default ~/.cache/multitaskkit/feed), so the registered
# source never points at a folder that a deleted clone took with it.
# Each run packs a fresh prerelease version, so the notebooks' `#r "nuget: MultiTaskKit.Interactive, *-*"` always
# picks up the kit as it is now (NuGet's cache never serves a stale build under a reused version).
set -euo pipefail
cd "$(dirname "$0")/.."
feed="${MTK_FEED:-${XDG_CACHE_HOME:-$HOME/.cache}/multitaskkit/feed}"
version="0.1.0-local.$(date -u +%Y%m%d%H%M%S)"
mkdir -p "$feed"
rm -f "$feed"/MultiTaskKit.*.nupkg
# Every project the notebooks load: the extension package depends on the other two, so #r "nuget: MultiTaskKit.Interactive"
# brings them all.
for project in lib/MultiTaskKit lib/MultiTaskKit.Charts lib/MultiTaskKit.Interactive; do
  dotnet pack "$project" -c Release -o "$feed" -p:Version="$version" -v q -nologo
done
if ! dotnet nuget list source --format short | grep -qF "$feed"; then
  dotnet nuget remove source multitaskkit-local >/dev/null 2>&1 || true
  dotnet nuget add source "$feed" --name multitaskkit-local
fi
echo "MultiTaskKit $version packed into $feed (NuGet source 'multitaskkit-local')"
