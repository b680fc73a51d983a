#!/usr/bin/env bash
# Executes every notebook and every notebook script at small size and fails on any error:
#   0. the drift check: notebooks/scripts/NN-*.cs must be exactly what `mtk notebook export-scripts` makes from the notebooks;
#   1. mtk notebook run (in-process C# kernel) -> executed .ipynb + offline HTML export, checked by mtk notebook verify;
#   2. dotnet run notebooks/scripts/NN-*.cs (file-based programs generated from the notebooks);
#   3. dotnet-repl 0.3.259, the .NET Interactive kernel as installed by `dotnet tool install`, unpatched, loading the kit
#      from the local package feed that notebooks/pack-kit.sh makes (as notebooks/README.md tells users);
#   4. the kernel VS Code Polyglot starts: the tool Microsoft.dotnet-interactive 1.0.712001 over the Jupyter protocol,
#      driven by `jupyter nbconvert --execute` (Debian's jupyter-nbconvert, python3-nbclient, python3-ipykernel).
# Each executed notebook of 1, 3 and 4 is verified to hold no error and the charts.
# Installs what is missing (apt-get, dotnet tool). Artefacts go to $MTK_NOTEBOOK_CI_OUT (default: artifacts/notebook-ci).
set -euo pipefail
cd "$(dirname "$0")/.."
export MTK_NOTEBOOK_SIZE=small DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export PATH="$PATH:$HOME/.dotnet/tools"
OUT="${MTK_NOTEBOOK_CI_OUT:-artifacts/notebook-ci}"
rm -rf "$OUT" && mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
notebooks=(notebooks/[0-9][0-9]-*.ipynb)
failed=()
step() { echo "== $*"; }

step "build mtk"
dotnet build lib/MultiTaskKit.Cli -c Release -v q -nologo
MTK=(dotnet lib/MultiTaskKit.Cli/bin/Release/net10.0/mtk.dll)

step "drift check: scripts against their notebooks"
"${MTK[@]}" notebook export-scripts --check || failed+=("drift check (run: mtk notebook export-scripts)")

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
  # Each script's build output holds TorchSharp's native libraries for every platform (about 1.4 GB): free it before the next.
  dotnet clean "$script" -v q -nologo > /dev/null 2>&1 || true
done
df -h . | tail -1

bash notebooks/pack-kit.sh

step "dotnet-repl 0.3.259"
if ! dotnet-repl --version 2>/dev/null | grep -q '0\.3\.259'; then
  dotnet tool uninstall -g dotnet-repl >/dev/null 2>&1 || true
  dotnet tool install -g dotnet-repl --version 0.3.259
fi
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

step "the VS Code Polyglot kernel: Microsoft.dotnet-interactive 1.0.712001 under jupyter nbconvert"
if ! command -v jupyter-nbconvert >/dev/null || ! python3 -c 'import nbclient, ipykernel' 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jupyter-nbconvert python3-nbclient python3-ipykernel >/dev/null
fi
if ! dotnet interactive --version 2>/dev/null | grep -q '1\.0\.712001'; then
  dotnet tool uninstall -g Microsoft.dotnet-interactive >/dev/null 2>&1 || true
  dotnet tool install -g Microsoft.dotnet-interactive --version 1.0.712001
fi
# `dotnet interactive jupyter install` registers the .net-csharp kernel once the kernels folder exists.
mkdir -p "$HOME/.local/share/jupyter/kernels"
[ -d "$HOME/.local/share/jupyter/kernels/.net-csharp" ] || dotnet interactive jupyter install
mkdir -p "$OUT/jupyter"
for nb in "${notebooks[@]}"; do
  start=$SECONDS
  name="$(basename "$nb")"
  if (cd notebooks && timeout 900 jupyter nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=.net-csharp \
        --ExecutePreprocessor.timeout=900 --output-dir "$OUT/jupyter" "$name" > "$OUT/jupyter/${name%.ipynb}.log" 2>&1) \
     && "${MTK[@]}" notebook verify --expect-charts "$OUT/jupyter/$name"; then
    echo "ok jupyter nbconvert $name ($((SECONDS - start)) s)"
  else
    echo "FAILED jupyter nbconvert $name"; tail -20 "$OUT/jupyter/${name%.ipynb}.log" || true; failed+=("jupyter nbconvert $name")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "notebook checks failed: ${failed[*]}"
  exit 1
fi
echo "notebook checks: scripts match their notebooks; all ${#notebooks[@]} notebooks ran in mtk notebook run, dotnet-repl and the Jupyter kernel; all scripts ran"
