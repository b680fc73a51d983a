namespace MultiTaskKit.Runtime;

/// <summary>
/// A <see cref="SplitMix64"/> generator with its state in an object: splits and sampling orders draw from it. Its whole
/// state is one ulong, which checkpoints save and restore.
/// </summary>
public sealed class SeededRandom
{
    public SeededRandom(ulong seed) => State = seed;

    /// <summary>The generator's whole state; assign a saved value to continue a sequence.</summary>
    public ulong State { get; set; }

    public ulong NextUInt64() => SplitMix64.Mix(State += SplitMix64.Gamma);

    /// <summary>A double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>An integer in [0, <paramref name="maxExclusive"/>), without modulo bias.</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "expected a positive bound");
        var bound = (ulong)maxExclusive;
        var limit = ulong.MaxValue - ulong.MaxValue % bound;
        ulong r;
        do r = NextUInt64(); while (r >= limit);
        return (int)(r % bound);
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A seed derived from a base seed and a name, so each task or purpose gets its own independent stream.</summary>
    public static ulong Derive(ulong seed, string purpose)
    {
        // FNV-1a over the purpose, mixed into the seed: stable, unlike string.GetHashCode.
        ulong h = 14695981039346656037UL;
        foreach (var c in purpose) { h ^= c; h *= 1099511628211UL; }
        return SplitMix64.Hash(seed ^ h);
    }
}
