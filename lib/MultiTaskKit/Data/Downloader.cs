using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace MultiTaskKit.Data;

/// <summary>An expected digest of a file: <c>md5</c> or <c>sha256</c>, lower-case hex.</summary>
public sealed record Checksum(string Algorithm, string Hex)
{
    public static Checksum Md5(string hex) => new("md5", hex.ToLowerInvariant());
    public static Checksum Sha256(string hex) => new("sha256", hex.ToLowerInvariant());

    /// <summary>The digest of a file, in this checksum's algorithm.</summary>
    public string Compute(string path)
    {
        using var stream = File.OpenRead(path);
        using HashAlgorithm h = Algorithm.ToLowerInvariant() switch
        {
            "md5" => MD5.Create(),
            "sha256" or "sha-256" => SHA256.Create(),
            _ => throw new NotSupportedException($"checksum: expected md5 or sha256, found '{Algorithm}'."),
        };
        return Convert.ToHexStringLower(h.ComputeHash(stream));
    }

    public override string ToString() => $"{Algorithm.ToUpperInvariant()} {Hex}";
}

/// <summary>How far a download has come; <see cref="TotalBytes"/> is null when the server did not say.</summary>
public readonly record struct DownloadProgress(string Url, long Bytes, long? TotalBytes);

/// <summary>
/// Downloads a file into a cache so that no half-written or unverified file is ever found under its final name:
/// bytes go to <c>&lt;file&gt;.partial</c>, an interrupted download resumes from there with an HTTP Range request,
/// and only a file whose checksum matches is renamed into place. A checksum mismatch deletes the partial file.
/// </summary>
public sealed class Downloader(HttpClient? client = null)
{
    readonly HttpClient http = client ?? new HttpClient { Timeout = TimeSpan.FromHours(2) };

    /// <summary>Suffix of the file that collects bytes until it is complete and verified.</summary>
    public const string PartialSuffix = ".partial";

    /// <summary>
    /// Makes sure <paramref name="target"/> holds the verified content of <paramref name="url"/>, downloading or
    /// resuming as needed, and returns its path. A file already at <paramref name="target"/> is trusted because only
    /// verified files are ever renamed there.
    /// </summary>
    public async Task<string> DownloadAsync(Uri url, string target, Checksum? checksum, IProgress<DownloadProgress>? progress = null, CancellationToken cancel = default)
    {
        if (File.Exists(target)) return target;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(target))!);
        var partial = target + PartialSuffix;
        for (int attempt = 0; ; attempt++)
        {
            long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
            }
            catch (HttpRequestException e)
            {
                throw new HttpRequestException($"Could not download '{url}' ({e.Message}). With no network, point MTK_DATA_DIR or --data-dir at local copies of the datasets.", e);
            }
            using (response)
            {
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
                {
                    // The partial file may already be whole (killed between the last byte and the rename); otherwise start over.
                    if (Verify(partial, checksum, url, deleteOnMismatch: false)) break;
                    File.Delete(partial);
                    if (attempt == 0) continue;
                }
                if (!response.IsSuccessStatusCode)
                    throw new HttpRequestException($"Could not download '{url}': the server answered {(int)response.StatusCode} {response.ReasonPhrase}.");
                bool append = have > 0 && response.StatusCode == HttpStatusCode.PartialContent;
                if (append && response.Content.Headers.ContentRange is { From: { } from } && from != have)
                    throw new HttpRequestException($"Could not resume '{url}': asked for bytes from {have}, the server sent from {from}.");
                long? total = response.Content.Headers.ContentLength is { } len ? len + (append ? have : 0) : null;
                await using (var body = await response.Content.ReadAsStreamAsync(cancel))
                await using (var file = new FileStream(partial, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    var buffer = new byte[1 << 16];
                    long done = append ? have : 0;
                    int n;
                    while ((n = await body.ReadAsync(buffer, cancel)) > 0)
                    {
                        await file.WriteAsync(buffer.AsMemory(0, n), cancel);
                        done += n;
                        progress?.Report(new DownloadProgress(url.ToString(), done, total));
                    }
                    await file.FlushAsync(cancel);
                    if (total is { } t && done < t)
                        throw new IOException($"Download of '{url}' ended early at {done} of {t} bytes; run again to resume.");
                }
                Verify(partial, checksum, url, deleteOnMismatch: true);
                break;
            }
        }
        File.Move(partial, target, overwrite: true);
        return target;
    }

    /// <summary>Synchronous form for command-line and notebook callers.</summary>
    public string Download(Uri url, string target, Checksum? checksum, IProgress<DownloadProgress>? progress = null) =>
        DownloadAsync(url, target, checksum, progress).GetAwaiter().GetResult();

    static bool Verify(string partial, Checksum? checksum, Uri url, bool deleteOnMismatch)
    {
        if (checksum is null) return true;
        var actual = checksum.Compute(partial);
        if (string.Equals(actual, checksum.Hex, StringComparison.OrdinalIgnoreCase)) return true;
        if (!deleteOnMismatch) return false;
        File.Delete(partial);
        throw new InvalidDataException($"Checksum mismatch for '{url}': expected {checksum}, found {checksum.Algorithm.ToUpperInvariant()} {actual}. The downloaded bytes were deleted; nothing was cached.");
    }
}
