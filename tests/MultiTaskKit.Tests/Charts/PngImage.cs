using System.Buffers.Binary;
using System.IO.Compression;

namespace MultiTaskKit.Tests.Charts;

/// <summary>A minimal PNG reader (8-bit RGB/RGBA, not interlaced: what Chromium writes), for pixel checks in tests.</summary>
sealed class PngImage
{
    public int Width { get; }
    public int Height { get; }
    readonly byte[] pixels; // RGB, row-major
    PngImage(int w, int h, byte[] rgb) { Width = w; Height = h; pixels = rgb; }

    public (byte R, byte G, byte B) this[int x, int y] { get { int i = (y * Width + x) * 3; return (pixels[i], pixels[i + 1], pixels[i + 2]); } }

    public static PngImage Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8 || bytes[1] != 'P' || bytes[2] != 'N' || bytes[3] != 'G') throw new InvalidDataException($"{path}: not a PNG");
        int pos = 8, width = 0, height = 0, colorType = 0;
        using var idat = new MemoryStream();
        while (pos < bytes.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(pos));
            var type = System.Text.Encoding.ASCII.GetString(bytes, pos + 4, 4);
            var data = bytes.AsSpan(pos + 8, len);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data); height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                if (data[8] != 8 || data[12] != 0 || (data[9] != 2 && data[9] != 6))
                    throw new InvalidDataException($"{path}: expected 8-bit RGB/RGBA non-interlaced, found depth {data[8]} colour type {data[9]} interlace {data[12]}");
                colorType = data[9];
            }
            else if (type == "IDAT") idat.Write(data);
            else if (type == "IEND") break;
            pos += 12 + len;
        }
        int bpp = colorType == 6 ? 4 : 3, stride = width * bpp;
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new byte[(stride + 1) * height];
        int read = 0; while (read < raw.Length) { int n = z.Read(raw, read, raw.Length - read); if (n == 0) break; read += n; }
        var cur = new byte[stride]; var prev = new byte[stride];
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            int f = raw[y * (stride + 1)];
            Array.Copy(raw, y * (stride + 1) + 1, cur, 0, stride);
            for (int i = 0; i < stride; i++)
            {
                int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
                cur[i] = (byte)(cur[i] + f switch
                {
                    0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"{path}: bad filter {f}"),
                });
            }
            for (int x = 0; x < width; x++) { rgb[(y * width + x) * 3] = cur[x * bpp]; rgb[(y * width + x) * 3 + 1] = cur[x * bpp + 1]; rgb[(y * width + x) * 3 + 2] = cur[x * bpp + 2]; }
            (prev, cur) = (cur, prev);
        }
        return new PngImage(width, height, rgb);
    }

    static int Paeth(int a, int b, int c) { int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c); return pa <= pb && pa <= pc ? a : pb <= pc ? b : c; }

    /// <summary>Pixels in the rectangle that differ from white by more than a little (anti-aliasing aside).</summary>
    public int CountNonBackground(int x0, int y0, int x1, int y1)
    {
        int n = 0;
        for (int y = Math.Max(0, y0); y < Math.Min(Height, y1); y++)
            for (int x = Math.Max(0, x0); x < Math.Min(Width, x1); x++)
            {
                var (r, g, b) = this[x, y];
                if (r < 235 || g < 235 || b < 235) n++;
            }
        return n;
    }

    /// <summary>Pixels within <paramref name="tolerance"/> of the colour on every channel.</summary>
    public int CountColour(byte r, byte g, byte b, int tolerance)
    {
        int n = 0;
        for (int i = 0; i < pixels.Length; i += 3)
            if (Math.Abs(pixels[i] - r) <= tolerance && Math.Abs(pixels[i + 1] - g) <= tolerance && Math.Abs(pixels[i + 2] - b) <= tolerance) n++;
        return n;
    }

    /// <summary>Distinct colours (quantised to 32 levels per channel) in the rectangle: a blank or text-only area has few.</summary>
    public int DistinctColours(int x0, int y0, int x1, int y1)
    {
        var set = new HashSet<int>();
        for (int y = Math.Max(0, y0); y < Math.Min(Height, y1); y++)
            for (int x = Math.Max(0, x0); x < Math.Min(Width, x1); x++)
            {
                var (r, g, b) = this[x, y];
                set.Add((r >> 3) << 10 | (g >> 3) << 5 | (b >> 3));
            }
        return set.Count;
    }
}
