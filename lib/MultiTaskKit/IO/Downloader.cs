using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace MultiTaskKit.IO;

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
/// The kit's one resumable HTTP download. <see cref="DownloadAsync"/> fills a cache so that no half-written or unverified
/// file is ever found under its final name: bytes go to <c>&lt;file&gt;.partial</c>, an interrupted download resumes from
/// there with an HTTP Range request, and only a file whose checksum matches is renamed into place (a mismatch deletes
/// the partial file). <see cref="ResumeAsync"/> is the transfer alone, for callers with their own naming and
/// verification (the Hugging Face hub cache).
/// </summary>
public sealed class Downloader
{
    readonly HttpClient http;
    readonly Func<Uri, HttpRequestMessage> newRequest;

    /// <param name="client">The client to use; null: one with a two-hour timeout.</param>
    /// <param name="newRequest">Makes the GET for a URL (with headers such as a token that must not follow a redirect to
    /// another host); null: a plain GET. Redirects the client does not follow itself are followed here, each with a new request.</param>
    public Downloader(HttpClient? client = null, Func<Uri, HttpRequestMessage>? newRequest = null)
    {
        http = client ?? new HttpClient { Timeout = TimeSpan.FromHours(2) };
        this.newRequest = newRequest ?? (uri => new HttpRequestMessage(HttpMethod.Get, uri));
    }

    /// <summary>Suffix of the file that collects bytes until it is complete and verified.</summary>
    public const string PartialSuffix = ".partial";

    /// <summary>Redirects followed by hand before giving up.</summary>
    public const int MaxRedirects = 5;

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
        // Without a checksum nothing but the server's announced length can say that a partial file is whole.
        await ResumeAsync(url, partial, expectedBytes: null, isWhole: checksum is null ? null : p => Verify(p, checksum, url, deleteOnMismatch: false), progress,
            offlineHint: "With no network, point MTK_DATA_DIR or --data-dir at local copies of the datasets.", cancel);
        Verify(partial, checksum, url, deleteOnMismatch: true);
        File.Move(partial, target, overwrite: true);
        return target;
    }

    /// <summary>Synchronous form for command-line and notebook callers.</summary>
    public string Download(Uri url, string target, Checksum? checksum, IProgress<DownloadProgress>? progress = null) =>
        DownloadAsync(url, target, checksum, progress).GetAwaiter().GetResult();

    /// <summary>
    /// Brings <paramref name="partial"/> up to the whole content of <paramref name="url"/>: asks for the bytes it lacks
    /// with a Range request, appends them (or rewrites the file when the server ignores the range), and returns when the
    /// body has ended. Verification and the final rename are the caller's.
    /// </summary>
    /// <param name="url">What to download.</param>
    /// <param name="partial">The file that holds the bytes so far (created if absent).</param>
    /// <param name="expectedBytes">The file's size when known: a partial file of that size is taken as complete, a longer one is restarted.</param>
    /// <param name="isWhole">Asked when the server cannot satisfy the range (416): whether the partial file is already
    /// complete (killed between the last byte and the rename); otherwise it is restarted from byte 0. A partial file
    /// whose length differs from the length the 416 announces (<c>Content-Range: bytes */N</c>) is restarted without
    /// asking; with no announced length and no <paramref name="isWhole"/>, it is restarted too.</param>
    /// <param name="progress">Receives the bytes so far after every block.</param>
    /// <param name="offlineHint">Appended to the error when the server cannot be reached.</param>
    /// <param name="cancel">Stops the transfer; the partial file stays for the next call.</param>
    /// <exception cref="IOException">The body ended before the announced length; calling again resumes.</exception>
    public async Task ResumeAsync(Uri url, string partial, long? expectedBytes = null, Func<string, bool>? isWhole = null,
        IProgress<DownloadProgress>? progress = null, string? offlineHint = null, CancellationToken cancel = default)
    {
        long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (expectedBytes is { } size)
        {
            if (have == size) return;
            if (have > size) { File.Delete(partial); have = 0; }
        }
        var uri = url;
        for (int hop = 0; hop <= MaxRedirects + 1; hop++)
        {
            using var request = newRequest(uri);
            if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
            }
            catch (HttpRequestException e)
            {
                throw new HttpRequestException($"Could not download '{url}' ({e.Message}).{(offlineHint is null ? "" : " " + offlineHint)}", e);
            }
            using (response)
            {
                if ((int)response.StatusCode is 301 or 302 or 303 or 307 or 308)
                {
                    uri = new Uri(uri, response.Headers.Location ?? throw new HttpRequestException($"Could not download '{url}': a redirect from {uri} without a Location."));
                    if (uri.Scheme is not ("http" or "https"))
                        throw new HttpRequestException($"Could not download '{url}': it redirects to '{uri}', which is not an http or https URL; refused.");
                    continue;
                }
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
                {
                    bool whole = response.Content.Headers.ContentRange?.Length is { } announced
                        ? announced == have && isWhole?.Invoke(partial) != false
                        : isWhole?.Invoke(partial) == true;
                    if (whole) return;
                    File.Delete(partial);
                    have = 0;
                    continue;
                }
                if (!response.IsSuccessStatusCode)
                    throw new HttpRequestException($"Could not download '{url}': the server answered {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
                bool append = have > 0 && response.StatusCode == HttpStatusCode.PartialContent;
                if (append && response.Content.Headers.ContentRange is { From: { } from } && from != have)
                    throw new HttpRequestException($"Could not resume '{url}': asked for bytes from {have}, the server sent from {from}.");
                long? total = response.Content.Headers.ContentLength is { } len ? len + (append ? have : 0) : expectedBytes;
                await using var body = await response.Content.ReadAsStreamAsync(cancel);
                await using var file = new FileStream(partial, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                var buffer = new byte[1 << 16];
                long done = append ? have : 0;
                int n;
                while (true)
                {
                    try { n = await body.ReadAsync(buffer, cancel); }
                    catch (Exception e) when (e is IOException or HttpRequestException)
                    {
                        // The connection broke mid-body: keep the bytes (the next run resumes) and name the URL.
                        await file.FlushAsync(cancel);
                        throw new IOException($"Download of '{url}' was cut short at {done}{(total is { } tt ? $" of {tt}" : "")} bytes ({e.Message}); run again to resume.", e);
                    }
                    if (n == 0) break;
                    await file.WriteAsync(buffer.AsMemory(0, n), cancel);
                    done += n;
                    progress?.Report(new DownloadProgress(url.ToString(), done, total));
                }
                file.Flush(flushToDisk: true);
                if (total is { } t && done < t)
                    throw new IOException($"Download of '{url}' ended early at {done} of {t} bytes; run again to resume.");
                return;
            }
        }
        throw new HttpRequestException($"Could not download '{url}': more than {MaxRedirects} redirects.");
    }

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
