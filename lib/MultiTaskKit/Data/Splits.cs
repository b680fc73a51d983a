using MultiTaskKit.Runtime;

namespace MultiTaskKit.Data;

/// <summary>Seeded, stable splitting and sub-sampling. The same seed and input order always give the same split.</summary>
public static class Splits
{
    /// <summary>
    /// Splits <paramref name="data"/> into two parts: a seeded shuffle, then the first <paramref name="fraction"/>
    /// (at least one example) becomes <c>carved</c>. Classification data is stratified by label so that small carved
    /// splits keep the label distribution.
    /// </summary>
    public static (TextDataset Remaining, TextDataset Carved) Carve(TextDataset data, double fraction, ulong seed, string restName, string carvedName)
    {
        if (!(fraction > 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "expected a fraction strictly between 0 and 1");
        if (data.Count < 2)
            throw new InvalidDataException($"{data.Dataset}/{data.Split}: expected at least 2 examples to carve a '{carvedName}' split, found {data.Count}.");
        var rng = new SeededRandom(SeededRandom.Derive(seed, $"carve:{data.Dataset}:{data.Split}:{carvedName}"));
        // Work on indices: the examples are records, and equal records may occur twice.
        // Stratified by class when every example has one (classification); otherwise one group.
        var groups = data.Examples.All(e => e.Label >= 0)
            ? Enumerable.Range(0, data.Count).GroupBy(i => data.Examples[i].Label).OrderBy(g => g.Key).Select(g => g.ToList()).ToList()
            : [Enumerable.Range(0, data.Count).ToList()];
        var carvedIdx = new List<int>();
        var restIdx = new List<int>();
        foreach (var g in groups)
        {
            rng.Shuffle(g);
            int n = (int)Math.Round(g.Count * fraction);
            carvedIdx.AddRange(g.Take(n));
            restIdx.AddRange(g.Skip(n));
        }
        if (carvedIdx.Count == 0) { carvedIdx.Add(restIdx[^1]); restIdx.RemoveAt(restIdx.Count - 1); }
        if (restIdx.Count == 0) { restIdx.Add(carvedIdx[^1]); carvedIdx.RemoveAt(carvedIdx.Count - 1); }
        // Keep the input order inside each part, so that the order does not depend on the grouping.
        carvedIdx.Sort();
        restIdx.Sort();
        var carved = carvedIdx.Select(i => data.Examples[i]).ToList();
        var rest = restIdx.Select(i => data.Examples[i]).ToList();
        return (data.With(restName, rest), data.With(carvedName, carved));
    }

    /// <summary>
    /// A seeded subset of <paramref name="count"/> examples (all of them when <paramref name="count"/> is null or not
    /// smaller). Stratified by label for classification; the subset keeps the input order.
    /// </summary>
    public static TextDataset Subset(TextDataset data, int? count, ulong seed)
    {
        if (count is null || count >= data.Count) return data;
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "expected a positive subset size");
        var (_, carved) = Carve(data, (double)count.Value / data.Count, seed, data.Split, data.Split);
        return carved;
    }

    /// <summary>Seeded shuffle of indices 0..n-1.</summary>
    public static int[] Permutation(int n, SeededRandom rng)
    {
        var p = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(p);
        return p;
    }
}
