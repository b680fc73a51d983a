using System.Diagnostics;

namespace MultiTaskKit.Charts;

/// <summary>
/// PNG rendering through the Chromium from Debian's packages (<c>apt-get install chromium</c>): nothing is downloaded,
/// a fresh profile folder is used per call and removed after, and every background network feature is off.
/// </summary>
public static class ChromiumScreenshot
{
    /// <summary><c>MTK_CHROMIUM</c>, else <c>/usr/bin/chromium</c>, else <c>chromium</c> on PATH. Null when none exists.</summary>
    public static string? FindChromium()
    {
        if (Environment.GetEnvironmentVariable("MTK_CHROMIUM") is { Length: > 0 } env) return File.Exists(env) ? env : null;
        if (File.Exists("/usr/bin/chromium")) return "/usr/bin/chromium";
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            foreach (var name in new[] { "chromium", "chromium-browser" })
                if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        return null;
    }

    /// <summary>
    /// Opens <paramref name="htmlPath"/> in headless Chromium and writes a <paramref name="width"/>×<paramref name="height"/>
    /// screenshot to <paramref name="pngPath"/>. Returns the PNG's full path.
    /// </summary>
    public static string Capture(string htmlPath, string pngPath, int width = 1000, int height = 800, TimeSpan? timeout = null)
    {
        var chromium = FindChromium() ?? throw new FileNotFoundException(
            "PNG export: expected Chromium at /usr/bin/chromium (Debian package 'chromium': apt-get install -y chromium) or in MTK_CHROMIUM, found none.");
        var html = Path.GetFullPath(htmlPath);
        if (!File.Exists(html)) throw new FileNotFoundException($"PNG export: expected the HTML page {html}, found none.", html);
        var png = Path.GetFullPath(pngPath);
        Directory.CreateDirectory(Path.GetDirectoryName(png)!);
        var tmpPng = png + ".tmp.png";
        var profile = Directory.CreateTempSubdirectory("mtk-chromium-").FullName;
        try
        {
            var psi = new ProcessStartInfo(chromium)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--disable-quic", "--disable-dev-shm-usage", "--hide-scrollbars",
                $"--user-data-dir={profile}", $"--window-size={width},{height}",
                // Gives the page's scripts (plotly.js drawing) virtual time to finish before the capture.
                "--virtual-time-budget=10000", "--run-all-compositor-stages-before-draw",
                $"--screenshot={tmpPng}", new Uri(html).AbsoluteUri,
            }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            _ = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(timeout ?? TimeSpan.FromSeconds(90)))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException($"PNG export: Chromium did not finish rendering {html} within {(timeout ?? TimeSpan.FromSeconds(90)).TotalSeconds:0} s.");
            }
            if (p.ExitCode != 0 || !File.Exists(tmpPng))
                throw new InvalidOperationException($"PNG export: Chromium exited with {p.ExitCode} and wrote no screenshot of {html}. Its stderr:\n{stderr.Result}");
            File.Move(tmpPng, png, overwrite: true);
            return png;
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { }
            if (File.Exists(tmpPng)) File.Delete(tmpPng);
        }
    }
}
