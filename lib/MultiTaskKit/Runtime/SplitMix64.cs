using System.Runtime.CompilerServices;

namespace MultiTaskKit.Runtime;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, "Fast Splittable Pseudorandom Number Generators", OOPSLA 2014): the kit's one
/// definition of the generator and its 64-bit finaliser. Its sequence is fixed by its definition, so splits, sampling
/// orders, dropout masks and methods' random draws stay the same across .NET versions and machines
/// (<see cref="System.Random"/> makes no such promise). <see cref="SeededRandom"/>, <see cref="StepRandom"/> and the
/// fast dropout masks are built on it.
/// </summary>
internal static class SplitMix64
{
    /// <summary>The generator's increment, 2⁶⁴/φ rounded to odd (the golden-ratio "gamma").</summary>
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;

    /// <summary>The finaliser: a bijective mix of all 64 bits (variant 13 of Stafford's Mix functions).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Advances <paramref name="state"/> by <see cref="Gamma"/> and returns the mixed new state: one step of the generator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Next(ref ulong state) => Mix(state += Gamma);

    /// <summary>The generator's first output from <paramref name="seed"/>, as a stateless hash of the seed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(ulong seed) => Mix(seed + Gamma);
}
