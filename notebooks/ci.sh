#!/usr/bin/env bash
# Executes every notebook and every notebook script at small size, three ways, and fails on any error:
#   1. mtk notebook run (in-process C# kernel) -> executed .ipynb + offline HTML export, checked by mtk notebook verify;
#   2. dotnet run notebooks/scripts/NN-*.cs (file-based programs);
#   3. dotnet-repl 0.3.259, the real .NET Interactive kernel as installed by `dotnet tool install`, unpatched, loading
#      the kit from the local package feed that notebooks/pack-kit.sh makes (as notebooks/README.md tells users), then verified to
#      hold the charts.
# Artefacts (executed notebooks, HTML exports, chart pages) go to $MTK_NOTEBOOK_CI_OUT (default: artifacts/notebook-ci).
set -euo pipefail
cd "$(dirname "$0")/.."
export MTK_NOTEBOOK_SIZE=small DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
OUT="${MTK_NOTEBOOK_CI_OUT:-artifacts/notebook-ci}"
rm -rf "$OUT" && mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
notebooks=(notebooks/[0-9][0-9]-*.ipynb)
failed=()
step() { echo "== $*"; }

step "build mtk"
dotnet build lib/MultiTaskKit.Cli -c Release -v q -nologo
MTK=(dotnet lib/MultiTaskKit.Cli/bin/Release/net10.0/mtk.dll)

step "mtk notebook run (${#notebooks[@]} notebooks)"
"${MTK[@]}" notebook run "${notebooks[@]}" --out "$OUT/mtk" || failed+=("mtk notebook run")
"${MTK[@]}" notebook verify --expect-charts "$OUT"/mtk/*.ipynb || failed+=("mtk notebook verify (mtk run)")

step "rendering test: the HTML export of 02-case-study in headless Chromium"
MTK_RENDER_HTML="$OUT/mtk/02-case-study.html" MTK_RENDER_ARTIFACTS="$OUT/render" \
  dotnet test tests/MultiTaskKit.Tests --filter "FullyQualifiedName~HtmlExportRendersChartsInHeadlessChromium" --logger "console;verbosity=normal" \
  || failed+=("rendering test (02-case-study)")

step "scripts (dotnet run)"
for script in notebooks/scripts/[0-9][0-9]-*.cs; do
  start=$SECONDS
  if MTK_SCRIPT_OUT="$OUT/scripts" dotnet run "$script" > "$OUT/$(basename "$script" .cs).log" 2>&1; then
    echo "ok $script ($((SECONDS - start)) s)"
  else
    echo "FAILED $script:"; tail -30 "$OUT/$(basename "$script" .cs).log"; failed+=("$script")
  fi
done

step "dotnet-repl 0.3.259 (the real kernel)"
export PATH="$PATH:$HOME/.dotnet/tools"
if ! dotnet-repl --version 2>/dev/null | grep -q '0\.3\.259'; then
  dotnet tool uninstall -g dotnet-repl >/dev/null 2>&1 || true
  dotnet tool install -g dotnet-repl --version 0.3.259
fi
bash notebooks/pack-kit.sh
mkdir -p "$OUT/repl"
for nb in "${notebooks[@]}"; do
  start=$SECONDS
  name="$(basename "$nb")"
  if (cd notebooks && timeout 900 dotnet-repl --run "$name" --exit-after-run --output-path "$OUT/repl/$name" > "$OUT/repl/${name%.ipynb}.log" 2>&1) \
     && "${MTK[@]}" notebook verify --expect-charts "$OUT/repl/$name"; then
    echo "ok dotnet-repl $name ($((SECONDS - start)) s)"
  else
    echo "FAILED dotnet-repl $name"; tail -20 "$OUT/repl/${name%.ipynb}.log" || true; failed+=("dotnet-repl $name")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "notebook checks failed: ${failed[*]}"
  exit 1
fi
echo "notebook checks: all ${#notebooks[@]} notebooks ran in mtk notebook run and dotnet-repl; all scripts ran"
