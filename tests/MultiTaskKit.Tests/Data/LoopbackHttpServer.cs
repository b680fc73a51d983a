using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MultiTaskKit.Tests.Data;

/// <summary>
/// A real HTTP/1.1 server on 127.0.0.1 for download tests: serves byte arrays by path, honours <c>Range: bytes=N-</c>
/// with 206, and can cut a response short (closing the socket mid-body) to simulate a dropped connection.
/// </summary>
sealed class LoopbackHttpServer : IDisposable
{
    readonly TcpListener listener = new(IPAddress.Loopback, 0);
    readonly CancellationTokenSource stop = new();
    readonly Task loop;

    public Dictionary<string, byte[]> Files { get; } = new();
    /// <summary>When set, the next response sends only this many body bytes, then closes the connection.</summary>
    public int? CutNextAfter { get; set; }
    public List<string> Requests { get; } = [];

    public LoopbackHttpServer()
    {
        listener.Start();
        loop = Task.Run(Serve);
    }

    public Uri BaseUri => new($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");

    async Task Serve()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop.Token); }
            catch { return; }
            _ = Task.Run(() => Handle(client));
        }
    }

    async Task Handle(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var reader = new StreamReader(stream, Encoding.ASCII, false, 1024, leaveOpen: true);
            var requestLine = await reader.ReadLineAsync();
            if (requestLine is null) return;
            long? from = null;
            string? line;
            while (!string.IsNullOrEmpty(line = await reader.ReadLineAsync()))
                if (line.StartsWith("Range:", StringComparison.OrdinalIgnoreCase))
                    from = long.Parse(line.Split('=')[1].TrimEnd('-').Split('-')[0]);
            var path = requestLine.Split(' ')[1].TrimStart('/');
            lock (Requests) Requests.Add(from is { } f ? $"{path} from {f}" : path);
            if (!Files.TryGetValue(path, out var body))
            {
                await Write(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", []);
                return;
            }
            if (from is { } start && start >= body.Length)
            {
                await Write(stream, $"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{body.Length}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", []);
                return;
            }
            var slice = from is { } s ? body[(int)s..] : body;
            var head = from is { } s2
                ? $"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {s2}-{body.Length - 1}/{body.Length}\r\nContent-Length: {slice.Length}\r\nConnection: close\r\n\r\n"
                : $"HTTP/1.1 200 OK\r\nContent-Length: {slice.Length}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n";
            var cut = CutNextAfter;
            CutNextAfter = null;
            await Write(stream, head, cut is { } c ? slice[..Math.Min(c, slice.Length)] : slice);
            if (cut != null) client.Client.LingerState = new LingerOption(true, 0); // reset, so the client sees a broken body
        }
    }

    static async Task Write(NetworkStream stream, string head, byte[] body)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(body);
        await stream.FlushAsync();
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        try { loop.Wait(1000); } catch { }
    }
}
