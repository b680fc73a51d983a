using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace MultiTaskKit.Tests.Models.Hub;

/// <summary>
/// A real HTTP server on 127.0.0.1 that serves the Hugging Face hub's URL layout: <c>/{repo}/resolve/{revision}/{file}</c>.
/// Regular files answer directly with their git blob SHA-1 as ETag; LFS files answer with a 302 to <c>/cdn/{sha256}</c>
/// carrying <c>X-Linked-Etag</c> and <c>X-Linked-Size</c>, as the hub does. Range requests get 206. Faults can be injected:
/// drop the connection after some bytes, or serve corrupted bytes.
/// </summary>
public sealed class LoopbackHubServer : IDisposable
{
    readonly HttpListener listener = new();
    readonly Dictionary<string, (string Commit, Dictionary<string, (byte[] Data, bool Lfs)> Files)> repos = new();
    readonly Task loop;

    public LoopbackHubServer()
    {
        // A free port: bind port 0, read it, release it, and listen there.
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Endpoint = $"http://127.0.0.1:{port}";
        listener.Prefixes.Add(Endpoint + "/");
        listener.Start();
        loop = Task.Run(Serve);
    }

    public string Endpoint { get; }

    /// <summary>Every request: method, path and Range header.</summary>
    public ConcurrentQueue<(string Method, string Path, string? Range)> Log { get; } = new();

    /// <summary>When set, the next GET of an LFS body (under /cdn/) sends this many bytes and then drops the connection.</summary>
    public long? DropAfterBytes { get; set; }

    /// <summary>When set, file bodies are served with their first byte flipped (the headers still announce the true hash).</summary>
    public bool Corrupt { get; set; }

    /// <summary>When set, sent as <c>X-Repo-Commit</c> instead of the repository's commit.</summary>
    public string? CommitHeader { get; set; }

    /// <summary>When above 0, LFS files announce (<c>X-Linked-Size</c>) this many bytes fewer than their body has.</summary>
    public int LinkedSizeShortBy { get; set; }

    /// <summary>When set, every resolve URL answers 302 to this location.</summary>
    public string? RedirectTo { get; set; }

    public void AddRepo(string repo, string commit, IDictionary<string, byte[]> files, params string[] lfsFiles) =>
        repos[repo] = (commit, files.ToDictionary(kv => kv.Key, kv => (kv.Value, lfsFiles.Contains(kv.Key))));

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static string GitBlobSha1(byte[] data) =>
        Convert.ToHexStringLower(SHA1.HashData(Encoding.ASCII.GetBytes($"blob {data.Length}\0").Concat(data).ToArray()));

    async Task Serve()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await listener.GetContextAsync(); }
            catch (Exception) { return; }
            try { Handle(context); }
            catch (Exception) { try { context.Response.Abort(); } catch { } }
        }
    }

    void Handle(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = Uri.UnescapeDataString(request.Url!.AbsolutePath);
        Log.Enqueue((request.HttpMethod, path, request.Headers["Range"]));

        if (path.StartsWith("/cdn/", StringComparison.Ordinal))
        {
            var sha = path["/cdn/".Length..];
            var blob = repos.Values.SelectMany(r => r.Files.Values).FirstOrDefault(f => Sha256(f.Data) == sha).Data;
            if (blob is null) { NotFound(response); return; }
            SendBody(request, response, blob, mayDrop: true);
            return;
        }

        var marker = path.IndexOf("/resolve/", StringComparison.Ordinal);
        if (marker < 0) { NotFound(response); return; }
        var repoName = path[1..marker];
        var rest = path[(marker + "/resolve/".Length)..];
        var slash = rest.IndexOf('/');
        var revision = rest[..slash];
        var file = rest[(slash + 1)..];
        if (!repos.TryGetValue(repoName, out var repo) || (revision != "main" && revision != repo.Commit) || !repo.Files.TryGetValue(file, out var entry))
        {
            response.Headers["X-Error-Code"] = "EntryNotFound";
            NotFound(response);
            return;
        }
        response.Headers["X-Repo-Commit"] = CommitHeader ?? repo.Commit;
        if (RedirectTo is { } elsewhere)
        {
            response.Redirect(elsewhere);
            response.StatusCode = 302;
            response.Close();
            return;
        }
        if (entry.Lfs)
        {
            // As the hub: the resolve URL redirects LFS files to a content host, and says what the target holds.
            response.Headers["X-Linked-Etag"] = $"\"{Sha256(entry.Data)}\"";
            response.Headers["X-Linked-Size"] = (entry.Data.Length - LinkedSizeShortBy).ToString();
            response.Headers["ETag"] = $"\"{GitBlobSha1(Encoding.ASCII.GetBytes("pointer"))}\"";
            response.Redirect($"/cdn/{Sha256(entry.Data)}");
            response.StatusCode = 302;
            response.Close();
            return;
        }
        response.Headers["ETag"] = $"\"{GitBlobSha1(entry.Data)}\"";
        SendBody(request, response, entry.Data, mayDrop: false);
    }

    void SendBody(HttpListenerRequest request, HttpListenerResponse response, byte[] data, bool mayDrop)
    {
        long from = 0;
        if (request.Headers["Range"] is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
            from = long.Parse(range["bytes=".Length..^1]);
        if (from > data.Length) { response.StatusCode = 416; response.Close(); return; }
        if (from > 0)
        {
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {from}-{data.Length - 1}/{data.Length}";
        }
        response.ContentLength64 = data.Length - from;
        if (request.HttpMethod == "HEAD") { response.Close(); return; }
        var body = data.AsSpan((int)from).ToArray();
        if (Corrupt && body.Length > 0) body[0] ^= 0xFF;
        if (mayDrop && DropAfterBytes is { } drop)
        {
            DropAfterBytes = null;
            response.OutputStream.Write(body, 0, (int)Math.Min(drop, body.Length));
            response.OutputStream.Flush();
            response.Abort(); // the connection ends mid-body
            return;
        }
        response.OutputStream.Write(body);
        response.Close();
    }

    static void NotFound(HttpListenerResponse response)
    {
        response.StatusCode = 404;
        response.Close();
    }

    bool disposed;

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        listener.Stop();
        listener.Close();
        try { loop.Wait(TimeSpan.FromSeconds(5)); } catch { }
    }
}
