namespace MultiTaskKit.Runtime;

/// <summary>
/// Randomness for stochastic methods (PCGrad's and GradVac's task order, RLW's weights) derived from (seed, step, salt)
/// alone, so a run is reproducible and a resumed run draws what an uninterrupted one would, with no RNG state to save.
/// </summary>
internal static class StepRandom
{
    public static Random For(long seed, long step, long salt = 0)
    {
        // the SplitMix64 finaliser over a linear combination: a fixed, platform-independent mix (HashCode.Combine is
        // randomised per process)
        ulong z = SplitMix64.Mix(unchecked((ulong)seed * SplitMix64.Gamma + (ulong)step * 0xBF58476D1CE4E5B9UL + (ulong)salt * 0x94D049BB133111EBUL));
        return new Random((int)(z & 0x7FFFFFFF));
    }

    /// <summary>The indices 0..n−1 except <paramref name="skip"/>, in random order (Fisher–Yates).</summary>
    public static int[] ShuffledOthers(Random random, int n, int skip)
    {
        var order = Enumerable.Range(0, n).Where(j => j != skip).ToArray();
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>A standard normal draw (Box–Muller).</summary>
    public static double Normal(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
