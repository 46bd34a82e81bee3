import Foundation

/// An exponential moving average of a model's weights and state, as timm's `ModelEmaV2`
/// and PyTorch's `AveragedModel` with `get_ema_multi_avg_fn`: after each optimizer step,
/// `average ← d·average + (1 − d)·value`. The decay is warmed up as
/// `min(d, (1 + t) / (10 + t))` after `t` updates, so that the first averages are not
/// dominated by the initial weights. Batch norm's running statistics are averaged like
/// the weights; counters are left to the model that receives the average.
///
/// ```swift
/// let average = ExponentialMovingAverage(of: model, decay: 0.99)
/// optimizer.update(model, gradients: gradients)
/// average.update(from: model)
/// average.copy(to: evaluationModel)   // a model of the same architecture
/// ```
public final class ExponentialMovingAverage {
    /// The decay per update, once warmed up.
    public let decay: Float
    /// How many updates the average has taken in.
    public private(set) var updates = 0
    /// The averaged values, by the parameter names of ``Module/namedParameters()``.
    public private(set) var averages: [String: Tensor]

    /// Starts the average at `model`'s current values.
    ///
    /// - Parameter decay: in [0, 1); 0.99 averages over about the last 100 updates.
    public init(of model: Module, decay: Float) {
        require(decay >= 0 && decay < 1, "ExponentialMovingAverage: decay must be in [0, 1), got \(decay)")
        self.decay = decay
        averages = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.0, $0.1.value.detached()) })
    }

    /// The decay of the next update, after the warm-up.
    public var currentDecay: Float { min(decay, Float(1 + updates) / Float(10 + updates)) }

    /// Moves the average toward `model`'s current values (call it after each optimizer step).
    public func update(from model: Module) {
        let keep = currentDecay
        for (name, parameter) in model.namedParameters() {
            guard var average = averages.removeValue(forKey: name) else { continue }
            let value = parameter.value.detached()
            require(value.shape == average.shape, "ExponentialMovingAverage: \(name) has shape \(value.shape), its average \(average.shape)")
            average.withUnsafeMutableBufferPointer { a in
                value.withUnsafeBufferPointer { v in
                    let count = a.count
                    nonisolated(unsafe) let (a, v) = (a.baseAddress!, v.baseAddress!)
                    Optimizer.forEachSlice(count: count) { range in
                        LaneAccess.forEachGroup(range) { i, count in
                            let current = LaneAccess.load(a + i, count: count)
                            LaneAccess.store(current + (LaneAccess.load(v + i, count: count) - current) * (1 - keep), to: a + i, count: count)
                        }
                    }
                }
            }
            averages[name] = average
        }
        updates += 1
    }

    /// Sets every parameter of `model` that the average holds to its averaged value.
    public func copy(to model: Module) {
        for (name, parameter) in model.namedParameters() {
            guard let average = averages[name] else { continue }
            require(average.shape == parameter.value.shape, "ExponentialMovingAverage: \(name) has shape \(parameter.value.shape), its average \(average.shape)")
            parameter.value = average
        }
    }

    /// The averages as safetensors, named as the parameters, with the decay and update
    /// count in the metadata.
    public func stateDictionary() -> SafeTensors {
        SafeTensors(tensors: averages, metadata: ["decay": "\(decay)", "updates": String(updates)])
    }

    /// Restores a state written by ``stateDictionary()`` for the same model.
    ///
    /// - Throws: ``SafeTensorsError`` naming `source` when the metadata is missing, the
    ///   decay differs, or the tensors' names or shapes do not match the average's.
    public func load(_ dictionary: SafeTensors, source: String) throws {
        guard let updates = dictionary.metadata["updates"].flatMap(Int.init), updates >= 0,
              let decay = dictionary.metadata["decay"].flatMap(Float.init)
        else {
            throw SafeTensorsError(path: source, kind: .invalidHeader(reason: "a weight average needs 'decay' and 'updates' metadata"))
        }
        guard decay == self.decay else {
            throw SafeTensorsError(path: source, kind: .invalidHeader(reason: "the weight average has decay \(decay), this run \(self.decay)"))
        }
        guard Set(dictionary.tensors.keys) == Set(averages.keys),
              averages.allSatisfy({ dictionary.tensors[$0.key]?.shape == $0.value.shape })
        else {
            throw SafeTensorsError(path: source, kind: .invalidHeader(reason: "the weight average's tensors do not match the model's parameters"))
        }
        averages = dictionary.tensors
        self.updates = updates
    }
}
