import Foundation
import Testing
import Tessera

@Suite("exponential moving average of weights")
struct ExponentialMovingAverageTests {
    /// A small model trained a few steps, and its parameters after each step.
    static func trainedSnapshots(steps: Int) -> (TinyEncoderDecoder, [[String: [Float]]]) {
        var generator = RandomGenerator(seed: 11)
        let x = Tensor.normal([2, 1, 8, 8], using: &generator)
        let y = Tensor.uniform([2, 1, 8, 8], using: &generator).map { $0 > 0.5 ? 1 : 0 }
        let model = TinyEncoderDecoder(generator: &generator)
        let optimizer = Adam(learningRate: 0.05)
        func snapshot() -> [String: [Float]] { Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.0, $0.1.value.scalars) }) }
        var snapshots = [snapshot()]
        for _ in 0..<steps {
            let (_, gradients) = valueAndGradient(of: model) { TinyEncoderDecoder.loss($0(x), y) }
            optimizer.update(model, gradients: gradients)
            snapshots.append(snapshot())
        }
        return (model, snapshots)
    }

    @Test("the average follows avg ← d·avg + (1 − d)·w with the warmed-up decay min(d, (1 + t)/(10 + t)), running statistics included")
    func closedForm() {
        let (_, snapshots) = Self.trainedSnapshots(steps: 6)
        // Replays the same training, updating the average after every step.
        let (model, _) = Self.trainedSnapshots(steps: 0)
        let average = ExponentialMovingAverage(of: model, decay: 0.5)
        var expected = snapshots[0].mapValues { $0.map(Double.init) }
        for (t, values) in snapshots.dropFirst().enumerated() {
            let decay = min(0.5, Double(1 + t) / Double(10 + t))
            #expect(abs(Double(average.currentDecay) - decay) < 1e-7)
            for parameter in model.namedParameters() { parameter.1.value = Tensor(shape: parameter.1.value.shape, scalars: values[parameter.0]!) }
            average.update(from: model)
            for (name, value) in values { expected[name] = zip(expected[name]!, value).map { decay * $0 + (1 - decay) * Double($1) } }
        }
        #expect(average.updates == 6)
        #expect(average.averages["enc.1.running_mean"] != nil)
        for (name, values) in expected {
            let got = average.averages[name]!.scalars
            let error = zip(got, values).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(error < 1e-6, "\(name): \(error)")
        }
        // It differs from the last weights, which moved by Adam's steps.
        #expect(average.averages["out.weight"]!.scalars != snapshots.last!["out.weight"]!)
    }

    @Test("copy(to:) sets a model of the same architecture to the average")
    func copies() {
        let (model, _) = Self.trainedSnapshots(steps: 3)
        let average = ExponentialMovingAverage(of: model, decay: 0.9)
        var generator = RandomGenerator(seed: 99)
        let other = TinyEncoderDecoder(generator: &generator)
        #expect(other.namedParameters()[0].1.value != model.namedParameters()[0].1.value)
        average.copy(to: other)
        for ((name, a), (_, b)) in zip(other.namedParameters(), model.namedParameters()) { #expect(a.value == b.value, "\(name)") }
    }

    @Test("a saved and restored average continues exactly")
    func resumes() throws {
        let (_, snapshots) = Self.trainedSnapshots(steps: 4)
        let (model, _) = Self.trainedSnapshots(steps: 0)
        func set(_ values: [String: [Float]]) {
            for parameter in model.namedParameters() { parameter.1.value = Tensor(shape: parameter.1.value.shape, scalars: values[parameter.0]!) }
        }
        let straight = ExponentialMovingAverage(of: model, decay: 0.8)
        for values in snapshots.dropFirst() { set(values); straight.update(from: model) }

        set(snapshots[0])
        let first = ExponentialMovingAverage(of: model, decay: 0.8)
        for values in snapshots[1...2] { set(values); first.update(from: model) }
        let url = try Fixtures.temporaryFolder().appendingPathComponent("average.safetensors")
        try first.stateDictionary().write(to: url)
        let resumed = ExponentialMovingAverage(of: model, decay: 0.8)
        try resumed.load(try SafeTensors.read(from: url), source: url.path)
        for values in snapshots[3...4] { set(values); resumed.update(from: model) }
        #expect(resumed.updates == 4)
        #expect(resumed.averages == straight.averages)
    }

    @Test("a state of another decay, without metadata, or of another model is refused with the file named")
    func refusesMismatchedState() throws {
        let (model, _) = Self.trainedSnapshots(steps: 0)
        let average = ExponentialMovingAverage(of: model, decay: 0.9)
        var otherDecay = ExponentialMovingAverage(of: model, decay: 0.99).stateDictionary()
        var missing = average.stateDictionary()
        missing.metadata["updates"] = nil
        var otherModel = average.stateDictionary()
        otherModel.tensors["extra.weight"] = Tensor.zeros([1])
        var otherShape = average.stateDictionary()
        otherShape.tensors["out.bias"] = Tensor.zeros([2])
        otherDecay.metadata["updates"] = "3"
        for (state, reason) in [
            (otherDecay, "decay 0.99, this run 0.9"), (missing, "needs 'decay' and 'updates'"),
            (otherModel, "do not match the model's parameters"), (otherShape, "do not match the model's parameters"),
        ] {
            let error = #expect(throws: SafeTensorsError.self) { try average.load(state, source: "run/last.optimizer.safetensors") }
            #expect(error?.description.contains("run/last.optimizer.safetensors") == true)
            #expect(error?.description.contains(reason) == true, "\(error?.description ?? "")")
        }
        #expect(average.updates == 0)
    }
}
