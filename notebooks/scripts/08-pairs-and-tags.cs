// Generated from notebooks/08-pairs-and-tags.ipynb by `mtk notebook export-scripts`: edit the notebook, not this file
// (CI fails when this file differs from what the notebook makes).
// Run: dotnet run notebooks/scripts/08-pairs-and-tags.cs     (MTK_NOTEBOOK_SIZE=small for a quick run)
// Tables print to the console; charts and diagrams go to runs/notebooks/08-pairs-and-tags.html (or $MTK_SCRIPT_OUT).
#:project ../../lib/MultiTaskKit.Charts
// The kit writes its run configurations with reflection-based System.Text.Json, which file-based programs turn off by default.
#:property PublishAot=false
using System.Text;
using System.IO;
using MultiTaskKit.Charts;
using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Charts.Scripts;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Text;
using MultiTaskKit.Training;
using TorchSharp;
using static TorchSharp.torch;

// What the kit's kernel extension does when the notebook loads the kit: TorchSharp's native libraries, before any cell.
MultiTaskKit.Runtime.TorchRuntime.EnsureInitialized();

// # 08 · Sentence pairs and word tags
//
// *Default run: 2 min 20 s in `mtk notebook run` with SICK and CoNLL-2003 in the data folder, on a 2-core Intel Xeon
// with AVX-512 (fp32: `auto` measured bf16 slower there), measured 2026-12-05. `MTK_NOTEBOOK_SIZE=small` makes a shorter
// run; a script's first `dotnet run` adds its build.*
//
// The case study gives every task one text and wants one answer per text. Two other shapes of task are just as common:
//
// - **sentence pairs**: two texts in, one answer out: does sentence B follow from sentence A (entailment), and how
//   close are their meanings (relatedness)? BERT reads both at once as `[CLS] A [SEP] B [SEP]`, with a *segment id* per
//   token saying which sentence it came from (Devlin et al. 2019).
// - **word tags**: one answer per word, such as its part of speech (POS), its phrase chunk, or whether it starts or
//   continues a named entity (NER). The data gives tags per *word*, but the model reads *word pieces*, so each tag must
//   be put on one piece.
//
// Tagging tasks on one sentence share the input as well as the trunk. Lower-level tasks such as POS need less of the
// network than NER does, so each task can read the trunk at its **own depth**: POS after layer 2, chunks after layer 4,
// NER at the top (Søgaard & Goldberg 2016; Hashimoto et al. 2017).
//
// **You will be able to**
// 1. encode a sentence pair and read its ids and segment ids, and say which sentence loses pieces when the pair is too long;
// 2. align word tags to word pieces: the first piece of each word carries the tag, every other position is ignored by the loss (−100);
// 3. train POS, chunk and NER tagging on shared CoNLL-2003 sentences, each task at its own depth, and read token accuracy and entity F1.
//
// Load the kit.
//
// ## Parameters
//
// The data comes from `MTK_DATA_DIR` or a `shared/data` folder nearby, as for `mtk`: SICK (Marelli et al. 2014) for the
// pairs and CoNLL-2003 (Tjong Kim Sang & De Meulder 2003) for the tags. The run trains `steps` steps on a seeded subset
// of `trainSentences` training sentences and scores `testSentences` sentences of the test file (`eng.testb`).
// `MTK_NOTEBOOK_SIZE=small` (CI) shrinks it to a few steps on a few dozen sentences. `depths` says after which of
// MiniLM's 6 layers each task reads the trunk.
//
var small = Environment.GetEnvironmentVariable("MTK_NOTEBOOK_SIZE") == "small";
int steps = small ? 6 : 300, batchSize = small ? 8 : 16, maxTokens = 64;
int trainSentences = small ? 64 : 6000, testSentences = small ? 48 : 1000;
var depths = new Dictionary<string, int> { ["pos"] = 2, ["chunk"] = 4, ["ner"] = 6 };
var sources = DatasetSources.Default();
var tokenizer = PretrainedBert.Load("minilm").Tokenizer;
$"{steps} steps of {batchSize} sentences at up to {maxTokens} tokens; depths {string.Join(", ", depths.Select(d => $"{d.Key} {d.Value}"))}; data folder {sources.DataDir ?? "(none found)"}".Display();

// ## A sentence pair, as the model reads it
//
// SICK's entailment task is one file task of the kit: the `sentence_A` and `sentence_B` columns are the pair
// (`text_column` and `text_pair_column`), the `SemEval_set` column names each row's split. This is the configuration
// `data/examples/sick.json` uses, here for the entailment task alone.
//
var entailment = new TaskConfig
{
    Name = "entailment", Dataset = "csv", Kind = TaskKinds.Get("classification"),
    Train = "data:sick/SICK.txt", Separator = "\t", Quotes = false,
    SplitColumn = "SemEval_set", SplitValues = new Dictionary<string, string> { ["train"] = "TRAIN", ["val"] = "TRIAL", ["test"] = "TEST" },
    TextColumn = "sentence_A", TextPairColumn = "sentence_B", LabelColumn = "entailment_label", MaxTokens = 128,
};
var sick = TaskData.Load(entailment.ResolveData(sources.DataDir), sources, seed: 42);
var example = sick.Train.Examples.First(e => e.Pair!.Split(' ').Length > 8);
$"A: {example.Text}\nB: {example.Pair}\nlabel: {sick.LabelNames[example.Label]} ({sick.Train.Count} training pairs; labels {string.Join(", ", sick.LabelNames)})".Display();

// The kit's one encoder (`TaskInputEncoder`) turns the pair into ids. Segment id 0 marks `[CLS]`, sentence A and the
// first `[SEP]`; segment id 1 marks sentence B and the last `[SEP]`. BERT adds a learned *token type* embedding for each
// segment id to every token's embedding, which is how the model can tell the two sentences apart.
//
var encoder = new TaskInputEncoder(tokenizer, maxTokens: 128);
var encoded = encoder.Encode(example, index: 0, label: null);
new KitTable("The pair as ids", ["position", "piece", "id", "segment id"],
    encoded.Ids.Select((id, i) => (IReadOnlyList<string>)[$"{i}", tokenizer.IdToToken(id), $"{id}", $"{encoded.TypeIds![i]}"])).Display();

// When a pair is longer than the budget, the kit cuts **longest first**: it removes the last piece of whichever sentence
// is longer at that moment, until the pair fits (on a tie, sentence B loses). A short sentence is thus kept whole as
// long as possible. Here the same pair at a budget of 16 tokens:
//
int budget = 16;
var cut = new TaskInputEncoder(tokenizer, maxTokens: budget).Encode(example, 0, null);
int aPieces = encoded.TypeIds!.Count(t => t == 0) - 2, bPieces = encoded.TypeIds!.Count(t => t == 1) - 1;
int aKept = cut.TypeIds!.Count(t => t == 0) - 2, bKept = cut.TypeIds!.Count(t => t == 1) - 1;
$"budget {budget}: sentence A keeps {aKept} of {aPieces} pieces, sentence B keeps {bKept} of {bPieces} (3 positions go to [CLS] and the two [SEP])".Display();
$"kept: {string.Join(" ", cut.Ids.Select(id => tokenizer.IdToToken(id)))}".Display();

// ## Word tags on word pieces
//
// A CoNLL-2003 file has one word a line: the word, its POS tag, its chunk tag and its NER tag; a blank line ends a
// sentence. In this copy the chunk and NER tags are IOB2: `B-ORG` opens an organisation's name and `I-ORG` continues it
// (the original files use IOB1, where `B-` marks only a name that starts right after another of the same type; the kit
// reads both). The three tagging tasks below read the same file, each its own column.
//
TaskConfig Tagging(string name, string column) => new()
{
    Name = name, Dataset = "conll", Kind = TaskKinds.Get("token_classification"), Depth = depths[name],
    Train = "data:conll2003/eng.train", Val = "data:conll2003/eng.testa", Test = "data:conll2003/eng.testb",
    Columns = ["token", "pos", "chunk", "ner"], TextColumn = "token", LabelColumn = column,
    MaxTokens = maxTokens, BatchSize = batchSize, TrainSubset = trainSentences, ValSubset = testSentences / 2, TestSubset = testSentences,
};
var nerTask = Tagging("ner", "ner");
var ner = TaskData.Load(nerTask.ResolveData(sources.DataDir), sources, seed: 42);
var sentence = ner.Train.Examples.First(e => e.Words!.Count is > 6 and < 16 && e.Words.Any(w => encoder.WordPieces(w).Length > 1) && e.Labels!.Any(l => ner.LabelNames[l] != "O"));
$"{string.Join(" ", sentence.Words!.Select((w, i) => $"{w}/{ner.LabelNames[sentence.Labels![i]]}"))}".Display();
$"NER tags: {string.Join(", ", ner.LabelNames)}".Display();

// The encoder splits each word into pieces and records where each word starts. The tag goes on the word's **first
// piece**; the other pieces, `[CLS]` and `[SEP]` get −100, the index that the cross-entropy loss skips. The table is the
// target row that `TokenClassificationKind.Targets` builds for training: one entry per position.
//
var kind = TaskKinds.Get("token_classification");
var words = encoder.EncodeWords(sentence.Words!, index: 0, label: kind.LabelOf(sentence));
var signature = new TaskSignature("ner", kind, ner.LabelNames);
var targets = kind.Targets(signature, [words], words.Ids.Length, CPU).data<long>().ToArray();
var wordAt = new Dictionary<int, int>();
for (int w = 0; w < words.WordStarts!.Length; w++) wordAt[words.WordStarts[w]] = w;
int current = -1;
new KitTable("Pieces, words and the training target", ["position", "piece", "word", "target"],
    words.Ids.Select((id, i) =>
    {
        if (wordAt.TryGetValue(i, out var w)) current = w;
        else if (id == tokenizer.SepId) current = -1;
        string word = i == 0 || current < 0 ? "" : wordAt.ContainsKey(i) ? sentence.Words![current] : $"(rest of {sentence.Words![current]})";
        return (IReadOnlyList<string>)[$"{i}", tokenizer.IdToToken(id), word, targets[i] == TaskKind.IgnoreIndex ? "−100 (ignored)" : $"{targets[i]} = {ner.LabelNames[(int)targets[i]]}"];
    })).Display();

// At evaluation the model's tag for a word is the tag it predicts at the word's first piece. Entity F1 counts an entity
// as found only when its type and both its ends are right, as the CoNLL shared task's `conlleval` script counts it
// (the kit's `EntityMetrics`); token accuracy counts words.
//
// ## Three tagging tasks, three depths
//
// Hard sharing on the embedded MiniLM, one shared input: each batch is one set of sentences, run through the trunk
// once, and each task's head reads the hidden states after its own layer. The three losses are summed with equal
// weights (`ew`). Selection and the headline score use NER's entity F1.
//
var config = new RunConfig
{
    Name = "pairs-and-tags", Seed = 42,
    Model = new ModelConfig { Trunk = "minilm", HeadDropout = 0.1 },
    Sharing = new SharingConfig { Plan = SharingPlanKind.Hard },
    Optimizer = new OptimizerConfig { Name = OptimizerKind.Adamw, Lr = 5e-5, HeadLr = 1e-3, WarmupFraction = 0.1, WeightDecay = 0.01, ClipNorm = 1.0 },
    Training = new TrainingConfig { Steps = steps, SharedInput = true, EvalEverySteps = Math.Max(steps / 3, 1), EvalPerEpoch = false, CheckpointEverySteps = 0, SelectionMetric = "ner/entity_f1" },
    Tasks = [Tagging("pos", "pos"), Tagging("chunk", "chunk"), nerTask],
};
new KitTable("What each task reads", ["task", "tags", "reads the trunk after layer"],
    config.Tasks.Select(t => (IReadOnlyList<string>)[t.Name, t.LabelColumn!, $"{t.Depth} of 6"])).Display();

// Train it. Each task's loss and each validation pass show as the run goes; the run folder holds `history.csv`,
// `metrics.json` and the charts, as `mtk train --config` writes them.
//
string runDir = Path.Combine(Path.GetTempPath(), "mtk-notebooks", $"{config.Name}-{(small ? "small" : "default")}");
if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
TrainingResult result;
using (var trainer = new Trainer(config, runDir, sources) { Progress = ProgressView.Show("POS, chunks and NER at depths 2, 4, 6") })
    result = trainer.Run();
$"{result.Steps} steps in {result.TrainTime:mm\\:ss} ({result.TokensPerSecond:0} tokens/s); run folder {result.RunDir}".Display();

// The training curves: each task's loss on the training batches and at each validation pass (the evaluation lines).
//
var charts = RunChartsWriter.Charts(RunHistory.Load(Path.Combine(result.RunDir, Trainer.HistoryFile)), result.Test);
charts[0].Display();

// The test scores on the sampled `eng.testb` sentences:
//
double Score(string task, string metric) => result.Test[task].Metrics.Values.TryGetValue(metric, out var v) ? v : double.NaN;
new KitTable($"Test ({testSentences} sentences of eng.testb)", ["task", "depth", "token accuracy", "entity F1"],
    config.Tasks.Select(t => (IReadOnlyList<string>)[t.Name, $"{t.Depth}", KitTable.Num(Score(t.Name, "token_accuracy")), t.Name == "pos" ? "(no entities)" : KitTable.Num(Score(t.Name, "entity_f1"))])).Display();
result.Test.Display();

// ## Reading the results
//
// - POS tags have no `B-`/`I-` prefixes, so POS reports token accuracy only; chunks and named entities report entity
//   F1 as well, which is stricter: one wrong boundary word loses the whole entity.
// - A word's POS tag depends mostly on the word and its near neighbours, which two layers already mix; whether a
//   person's name is a person or an organisation depends on the wider sentence. That is the argument for reading POS
//   low and NER at the top (Hashimoto et al. 2017), and what `depths` lets you test.
// - This run is short: `steps × batchSize` sentences, less than one pass over the `trainSentences` it samples from
//   eng.train's 14,041. The full configuration, `mtk train --config data/examples/conll2003.json`, trains one epoch on
//   all of them and scores all 3,453 test sentences.
//
// ## Exercises
//
// 1. Set every depth to 6 (all tasks at the top) and run again. Before you look, predict whether POS accuracy changes.
//    <details><summary>What to weigh</summary>Depth changes which layers each task's gradient trains and what its
//    head reads, not how much the model can represent: a tag head at layer 6 still sees what layers 1–2 computed.
//    Hashimoto et al. report the gain of low depths for low-level tasks after full training; a few hundred steps on a
//    sample may show no difference beyond the noise of one seed (notebook 09 shows how to tell).</details>
// 2. Set `depths["ner"] = 1` and run again; compare NER's entity F1 with the run at depth 6.
//    <details><summary>What to weigh</summary>After one layer each word piece has mixed in little of its sentence, and
//    entity types (a person or an organisation) depend on context, so the argument predicts a lower F1. If yours is
//    not lower, train longer before you conclude.</details>
// 3. In the pair cells, set `budget = 12` and predict before running which sentence loses pieces.
//    <details><summary>Why</summary>Longest first: the longer sentence loses pieces until both are the same length,
//    then they lose in turn, B first.</details>
// 4. Train the entailment task from the pairs: add `entailment` (with `BatchSize = batchSize`) to a new configuration
//    of its own, with `SharedInput = false`, and compare its accuracy with SICK's majority class.
//    <details><summary>Hint</summary>The majority class is what a model that ignores the input scores: count
//    `sick.Test.Examples` by label.</details>
//
