using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Models.Bert;

static class TensorAssert
{
    /// <summary>Same shape and bit-for-bit equal values (torch.equal).</summary>
    public static bool SameAs(this Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var eq = a.eq(b).all();
        return eq.item<bool>();
    }
}
