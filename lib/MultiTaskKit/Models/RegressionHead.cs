using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>Regression: dropout + <c>Linear(features, outputs)</c>; loss is the mean squared error. With one output the
/// prediction is [batch] and the target [batch]; with several, both are [batch, outputs].</summary>
public sealed class RegressionHead : TaskHead
{
    readonly Dropout dropout;
    readonly Linear regressor;

    public int Outputs { get; }

    public RegressionHead(long inputSize, int outputs = 1, double dropoutRate = 0.0) : base("regression_head")
    {
        if (outputs < 1) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "expected at least 1 output");
        Outputs = outputs;
        dropout = nn.Dropout(dropoutRate);
        regressor = nn.Linear(inputSize, outputs);
        register_module("dropout", dropout);
        register_module("regressor", regressor);
    }

    public override HeadKind Kind => HeadKind.Regression;

    public override Tensor forward(Tensor pooled)
    {
        var y = regressor.call(dropout.call(pooled));
        return Outputs == 1 ? y.squeeze(-1) : y;
    }

    public override Tensor Loss(Tensor prediction, Tensor target)
    {
        var t = target.to_type(prediction.dtype);
        if (!t.shape.SequenceEqual(prediction.shape))
            throw new ArgumentException($"regression target: expected shape [{string.Join(", ", prediction.shape)}], found [{string.Join(", ", target.shape)}]", nameof(target));
        return nn.functional.mse_loss(prediction, t);
    }
}
