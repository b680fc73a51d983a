using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using MultiTaskKit.IO;

namespace MultiTaskKit.Models.Hub;

/// <summary>
/// Downloads files of Hugging Face hub model repositories into a cache laid out as <c>huggingface_hub</c> lays it out,
/// so Python and the kit share one cache: <c>{cache}/models--{org}--{name}/blobs/{etag}</c>, <c>refs/{revision}</c>
/// and <c>snapshots/{commit}/{file}</c>.
/// <list type="bullet">
/// <item>Resumable: a partial download stays as <c>blobs/{etag}.incomplete</c> and continues with an HTTP Range request.</item>
/// <item>Verified: the size and the hash the hub announces (<c>X-Linked-Etag</c>/<c>ETag</c>: SHA-256 for LFS files,
/// the git blob SHA-1 otherwise) are checked before a blob is renamed into place; nothing unverified is ever used.</item>
/// <item>Offline: with <c>HF_HUB_OFFLINE=1</c> only the cache is read.</item>
/// </list>
/// </summary>
public sealed partial class HubClient
{
    public const string DefaultEndpoint = "https://huggingface.co";

    readonly HttpClient http;
    readonly Downloader downloader;

    /// <param name="cacheDir">The hub cache folder (the one that holds <c>models--*</c> folders).</param>
    /// <param name="endpoint">Base URL; files are read from <c>{endpoint}/{repo}/resolve/{revision}/{file}</c>.</param>
    /// <param name="offline">Never touch the network; read the cache only.</param>
    /// <param name="token">Optional access token (HF_TOKEN) for gated or private repositories.</param>
    public HubClient(string cacheDir, string endpoint = DefaultEndpoint, bool offline = false, string? token = null)
    {
        CacheDir = Path.GetFullPath(cacheDir);
        Endpoint = endpoint.TrimEnd('/');
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            throw new ArgumentException($"HF_ENDPOINT: expected an http(s) URL, found '{endpoint}'.", nameof(endpoint));
        Offline = offline;
        // Redirects are followed by hand: the hub puts X-Linked-Etag/X-Linked-Size on the redirect itself, and the
        // token must not travel to the CDN host it redirects to.
        http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None })
        {
            Timeout = TimeSpan.FromMinutes(30),
        };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("MultiTaskKit/1.0");
        Token = token;
        // Blobs come through the kit's one resumable downloader, which follows the redirects with Request's headers.
        downloader = new Downloader(http, uri => Request(HttpMethod.Get, uri));
    }

    /// <summary>
    /// Settings from the environment, as huggingface_hub reads them: <c>HF_HUB_CACHE</c>, else <c>HF_HOME</c>/hub, else
    /// <c>$XDG_CACHE_HOME/huggingface/hub</c> or <c>~/.cache/huggingface/hub</c>; <c>HF_ENDPOINT</c>;
    /// <c>HF_HUB_OFFLINE</c> (1/true/yes/on); <c>HF_TOKEN</c>.
    /// </summary>
    public static HubClient FromEnvironment()
    {
        static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
        var home = Env("HF_HOME") ?? Path.Combine(Env("XDG_CACHE_HOME") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "huggingface");
        var cache = Env("HF_HUB_CACHE") ?? Path.Combine(home, "hub");
        var offline = Env("HF_HUB_OFFLINE") is { } o && o.Trim().ToLowerInvariant() is "1" or "true" or "yes" or "on";
        return new HubClient(cache, Env("HF_ENDPOINT") ?? DefaultEndpoint, offline, Env("HF_TOKEN"));
    }

    public string CacheDir { get; }
    public string Endpoint { get; }
    public bool Offline { get; }
    string? Token { get; }

    /// <summary>Attempts per file when the connection drops; each attempt resumes where the last stopped.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Reports (file, bytes so far, total bytes or null) while downloading.</summary>
    public Action<string, long, long?>? Progress { get; init; }

    /// <summary>The repository's folder in the cache.</summary>
    public string RepoFolder(string repoId) => Path.Combine(CacheDir, "models--" + CheckRepoId(repoId).Replace("/", "--"));

    /// <summary>
    /// Fetches config.json, vocab.txt and the weights (model.safetensors; pytorch_model.bin only with
    /// <paramref name="allowPickle"/>) and returns the snapshot folder that holds them.
    /// </summary>
    public string DownloadModel(string repoId, string revision = "main", bool allowPickle = false)
    {
        var config = DownloadFile(repoId, "config.json", revision);
        DownloadFile(repoId, "vocab.txt", revision);
        TryDownloadFile(repoId, "tokenizer_config.json", revision); // optional: says whether the vocabulary is cased
        var folder = Path.GetDirectoryName(config)!;
        if (TryDownloadFile(repoId, "model.safetensors", revision) is not null) return folder;
        if (!allowPickle)
            throw new FileNotFoundException(
                $"Hub model '{repoId}' ({revision}) has no model.safetensors. Its pytorch_model.bin is a pickle, and unpickling can " +
                "execute code, so the kit downloads and reads it only when you opt in (PretrainedBertOptions.AllowPickle, library only) for a repository you trust; mtk never unpickles: use a repository with model.safetensors.");
        if (TryDownloadFile(repoId, "pytorch_model.bin", revision) is null)
            throw new FileNotFoundException($"Hub model '{repoId}' ({revision}) has neither model.safetensors nor pytorch_model.bin.");
        return folder;
    }

    /// <summary>The local path of <paramref name="file"/> in the snapshot, downloading it when needed.</summary>
    public string DownloadFile(string repoId, string file, string revision = "main") =>
        TryDownloadFile(repoId, file, revision)
        ?? throw new FileNotFoundException($"Hub: '{file}' does not exist in '{repoId}' at revision '{revision}' ({Url(repoId, revision, file)} answered 404).");

    /// <summary>As <see cref="DownloadFile"/>, but null when the hub says the file does not exist.</summary>
    public string? TryDownloadFile(string repoId, string file, string revision = "main")
    {
        CheckRepoId(repoId);
        if (Offline)
            return CachedPath(repoId, file, revision) ?? throw new InvalidOperationException(OfflineMessage(repoId, file, revision));
        FileMetadata? meta;
        try { meta = Head(repoId, file, revision); }
        catch (HttpRequestException e)
        {
            // As huggingface_hub does: with the network down, a file already in the cache is still good.
            return CachedPath(repoId, file, revision)
                ?? throw new HttpRequestException($"Hub: cannot reach {Endpoint} for '{repoId}/{file}' ({e.Message}), and the file is not in the cache at '{RepoFolder(repoId)}'.", e);
        }
        if (meta is null) return null;
        var repo = RepoFolder(repoId);
        var blob = Path.Combine(repo, "blobs", meta.Etag);
        if (!File.Exists(blob)) DownloadBlob(meta, blob, $"{repoId}/{file}");
        var snapshot = Path.Combine(repo, "snapshots", meta.Commit, file);
        LinkSnapshot(blob, snapshot);
        if (!string.Equals(revision, meta.Commit, StringComparison.Ordinal))
            AtomicFile.WriteAllText(Path.Combine(repo, "refs", revision), meta.Commit);
        return snapshot;
    }

    /// <summary>The cached snapshot path of a file for a revision (a ref name or a commit), or null.</summary>
    public string? CachedPath(string repoId, string file, string revision = "main")
    {
        var repo = RepoFolder(repoId);
        var commit = revision;
        var refFile = Path.Combine(repo, "refs", revision);
        if (File.Exists(refFile)) commit = File.ReadAllText(refFile).Trim();
        var path = Path.Combine(repo, "snapshots", commit, file);
        return File.Exists(path) ? path : null;
    }

    string OfflineMessage(string repoId, string file, string revision) =>
        $"Hub model '{repoId}' ({revision}) is not in the cache at '{RepoFolder(repoId)}' (missing '{file}'), and HF_HUB_OFFLINE=1 forbids downloading. " +
        $"Pre-download it on a machine with network access, e.g. `huggingface-cli download {repoId} config.json vocab.txt model.safetensors` " +
        "or one run of the kit without HF_HUB_OFFLINE, with the same HF_HOME; or pass a local folder instead of a model id.";

    sealed record FileMetadata(string Commit, string Etag, long? Size, Uri Location);

    string Url(string repoId, string revision, string file) =>
        $"{Endpoint}/{repoId}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}";

    HttpRequestMessage Request(HttpMethod method, Uri uri)
    {
        var request = new HttpRequestMessage(method, uri);
        // Identity encoding: sizes and hashes refer to the file's bytes, not a compressed transfer.
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
        if (Token is not null && uri.AbsoluteUri.StartsWith(Endpoint, StringComparison.Ordinal))
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return request;
    }

    FileMetadata? Head(string repoId, string file, string revision)
    {
        var uri = new Uri(Url(repoId, revision, file));
        string? commit = null, etag = null;
        long? size = null;
        for (int hop = 0; hop < 6; hop++)
        {
            using var response = http.Send(Request(HttpMethod.Head, uri));
            commit ??= Header(response, "X-Repo-Commit");
            etag ??= Header(response, "X-Linked-Etag") ?? Header(response, "ETag");
            if (size is null && long.TryParse(Header(response, "X-Linked-Size"), out var linked)) size = linked;
            if (response.StatusCode == HttpStatusCode.NotFound) return null;
            if (IsRedirect(response.StatusCode))
            {
                var next = new Uri(uri, response.Headers.Location ?? throw new HttpRequestException($"Hub: redirect from {uri} without a Location."));
                if (next.Scheme is not ("http" or "https"))
                    throw new HttpRequestException($"Hub: {uri} redirects to '{next}', which is not an http or https URL; refused.");
                uri = next;
                continue;
            }
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                throw new UnauthorizedAccessException($"Hub: {uri} answered {(int)response.StatusCode}; the repository '{repoId}' is gated or private (set HF_TOKEN).");
            if (!response.IsSuccessStatusCode)
                throw new HttpRequestException($"Hub: HEAD {uri} answered {(int)response.StatusCode} {response.ReasonPhrase}.");
            size ??= response.Content.Headers.ContentLength;
            etag = NormalizeEtag(etag ?? throw new InvalidDataException($"Hub: {uri} sent no ETag, so the download could not be verified or cached."));
            if (commit is null && !CommitPattern().IsMatch(revision))
                throw new InvalidDataException($"Hub: {uri} sent no X-Repo-Commit; cannot place the file in a snapshot.");
            commit ??= revision;
            if (!CommitPattern().IsMatch(commit))
                throw new InvalidDataException($"Hub: {uri} sent X-Repo-Commit '{commit}', expected a commit id of 40 lowercase hex digits; cannot place the file in a snapshot.");
            return new FileMetadata(commit, etag, size, new Uri(Url(repoId, revision, file)));
        }
        throw new HttpRequestException($"Hub: too many redirects for {Url(repoId, revision, file)}.");
    }

    static bool IsRedirect(HttpStatusCode code) => (int)code is 301 or 302 or 303 or 307 or 308;

    static string? Header(HttpResponseMessage r, string name) =>
        r.Headers.TryGetValues(name, out var v) || r.Content.Headers.TryGetValues(name, out v) ? v.FirstOrDefault() : null;

    static string NormalizeEtag(string etag)
    {
        var e = etag.Trim();
        if (e.StartsWith("W/", StringComparison.Ordinal)) e = e[2..];
        e = e.Trim('"');
        // The etag names a file in blobs/; refuse anything that could escape that folder.
        if (e.Length == 0 || e.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not '-' and not '_'))
            throw new InvalidDataException($"Hub: unusable ETag '{etag}'.");
        return e;
    }

    void DownloadBlob(FileMetadata meta, string blob, string what)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        var partial = blob + ".incomplete";
        Exception? last = null;
        for (int attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            try
            {
                Fetch(meta, partial, what);
                Verify(partial, meta, what);
                File.Move(partial, blob, overwrite: true);
                return;
            }
            catch (Exception e) when (e is IOException or HttpRequestException && e is not InvalidDataException)
            {
                last = e; // the partial file stays; the next attempt resumes from its end
            }
        }
        var kept = File.Exists(partial)
            ? $"{new FileInfo(partial).Length} bytes are kept in '{partial}' and the next call resumes from there"
            : "nothing is kept (the bytes could not be used)";
        throw new IOException($"Hub: downloading '{what}' failed after {MaxAttempts} attempt(s); {kept}. Last error: {last!.Message}", last);
    }

    void Fetch(FileMetadata meta, string partial, string what) =>
        downloader.ResumeAsync(meta.Location, partial, meta.Size,
            progress: Progress is { } report ? new ProgressRelay(p => report(what, p.Bytes, p.TotalBytes)) : null).GetAwaiter().GetResult();

    sealed class ProgressRelay(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }

    static void Verify(string partial, FileMetadata meta, string what)
    {
        long length = new FileInfo(partial).Length;
        if (meta.Size is { } size && length != size)
        {
            // Short: the connection ended early; resumable. Long: corrupt; start over.
            if (length > size) File.Delete(partial);
            throw new IOException($"Hub: '{what}' has {length} bytes after the transfer, expected {size}{(length > size ? " (the server sent more than it announced; the bytes were discarded)" : "")}.");
        }
        string? actual = null, kind = null;
        if (Sha256Pattern().IsMatch(meta.Etag))
        {
            using var s = File.OpenRead(partial);
            actual = Convert.ToHexStringLower(SHA256.HashData(s));
            kind = "SHA-256";
        }
        else if (Sha1Pattern().IsMatch(meta.Etag))
        {
            // A git blob id: SHA-1 over "blob {size}\0" followed by the content.
            using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
            sha1.AppendData(Encoding.ASCII.GetBytes($"blob {length}\0"));
            using var s = File.OpenRead(partial);
            var buffer = new byte[1 << 16];
            int n;
            while ((n = s.Read(buffer)) > 0) sha1.AppendData(buffer, 0, n);
            actual = Convert.ToHexStringLower(sha1.GetHashAndReset());
            kind = "git SHA-1";
        }
        if (actual is not null && !string.Equals(actual, meta.Etag, StringComparison.OrdinalIgnoreCase))
        {
            File.Delete(partial);
            throw new InvalidDataException($"Hub: '{what}' failed verification: {kind} {actual}, expected {meta.Etag}. The download was discarded.");
        }
    }

    static void LinkSnapshot(string blob, string snapshot)
    {
        if (File.Exists(snapshot)) return;
        Directory.CreateDirectory(Path.GetDirectoryName(snapshot)!);
        var tmp = $"{snapshot}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            // A relative symlink, as huggingface_hub makes; a copy where the file system has no symlinks.
            try { File.CreateSymbolicLink(tmp, Path.GetRelativePath(Path.GetDirectoryName(snapshot)!, blob)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException) { File.Copy(blob, tmp); }
            File.Move(tmp, snapshot, overwrite: true);
        }
        finally { if (File.Exists(tmp) || new FileInfo(tmp).LinkTarget is not null) File.Delete(tmp); }
    }

    static string CheckRepoId(string repoId)
    {
        if (string.IsNullOrWhiteSpace(repoId) || !RepoIdPattern().IsMatch(repoId) || repoId.Contains(".."))
            throw new ArgumentException($"Hub: '{repoId}' is not a model id; expected 'name' or 'organisation/name' (letters, digits, '-', '_', '.').", nameof(repoId));
        return repoId;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")]
    private static partial Regex RepoIdPattern();
    [GeneratedRegex(@"^[0-9a-f]{40}$")]
    private static partial Regex CommitPattern();
    [GeneratedRegex(@"^[0-9a-fA-F]{64}$")]
    private static partial Regex Sha256Pattern();
    [GeneratedRegex(@"^[0-9a-fA-F]{40}$")]
    private static partial Regex Sha1Pattern();
}
