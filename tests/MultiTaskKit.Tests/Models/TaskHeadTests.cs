using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Models;

[Collection(ProcessStateCollection.Name)]
public class TaskHeadTests
{

    [Fact]
    public void CrossEntropyWithClassWeightsAndLabelSmoothingMatchesTheFormula()
    {
        var head = new ClassificationHead(2, 3, new ClassificationHeadOptions(ClassWeights: new float[] { 1f, 2f, 0.5f }, LabelSmoothing: 0.1));
        var logits = tensor(new float[,] { { 1f, 0f, -1f }, { 0.5f, 2f, 0f } });
        var target = tensor(new long[] { 0, 1 });
        double loss = head.Loss(logits, target).item<float>();
        // PyTorch semantics: per row, sum_c w_c * q_c * (-log p_c) with q = (1-e)*onehot + e/C; mean divides by sum of w[y].
        var lp = nn.functional.log_softmax(logits, 1).to_type(ScalarType.Float64);
        double[] w = { 1, 2, 0.5 };
        double num = 0, den = 0;
        for (int i = 0; i < 2; i++)
        {
            long y = target[i].item<long>();
            double nll = -w[y] * lp[i, y].item<double>();
            double smooth = 0;
            for (int c = 0; c < 3; c++) smooth += -w[c] * lp[i, c].item<double>();
            num += 0.9 * nll + 0.1 / 3 * smooth;
            den += w[y];
        }
        Assert.Equal(num / den, loss, 5);
    }

    [Fact]
    public void RegressionIsMseAndChecksShapes()
    {
        var head = new RegressionHead(2);
        var prediction = tensor(new float[] { 1f, 2f });
        Assert.Equal((0.25 + 1.0) / 2, head.Loss(prediction, tensor(new float[] { 1.5f, 1f })).item<float>(), 6);
        var ex = Assert.Throws<ArgumentException>(() => head.Loss(prediction, tensor(new float[] { 1f, 2f, 3f })));
        Assert.Contains("[2]", ex.Message);
    }

    [Fact]
    public void MultiLabelIsBinaryCrossEntropyOnLogits()
    {
        var head = new MultiLabelHead(2, 2);
        var logits = tensor(new float[,] { { 0f, 2f } });
        var target = tensor(new float[,] { { 1f, 0f } });
        double expected = (-Math.Log(0.5) - Math.Log(1 - 1 / (1 + Math.Exp(-2)))) / 2;
        Assert.Equal(expected, head.Loss(logits, target).item<float>(), 5);
    }

    [Fact]
    public void CustomHeadUsesTheGivenLossAndRejectsNonScalars()
    {
        var head = new CustomHead(nn.Linear(2, 1), (p, t) => (p.squeeze(-1) - t).abs().mean());
        Assert.Equal(1.5, head.Loss(tensor(new float[,] { { 1f }, { 2f } }), tensor(new float[] { 0f, 4f })).item<float>(), 6);
        var bad = new CustomHead(nn.Linear(2, 1), (p, t) => p - t);
        Assert.Throws<InvalidOperationException>(() => bad.Loss(tensor(new float[] { 1f, 2f }), tensor(new float[] { 0f, 0f })));
    }

    [Fact]
    public void ClassWeightsOfTheWrongLengthAreRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ClassificationHead(2, 3, new ClassificationHeadOptions(ClassWeights: new float[] { 1f, 2f })));
        Assert.Contains("expected 3", ex.Message);
        Assert.Contains("found 2", ex.Message);
    }
}
