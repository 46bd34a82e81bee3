import Foundation

/// The base of all optimizers: walks a model's trainable parameters and lets the
/// subclass update each one from its gradient and its own per-parameter state.
///
/// State (momentum buffers, moment estimates, step counts) is kept by parameter name, so
/// it can be saved with ``stateDictionary()`` and restored with ``load(_:source:)`` for an
/// exact resume.
open class Optimizer {
    /// The step size; schedules change it between epochs.
    public var learningRate: Float
    /// Per-parameter state tensors: `state[parameterName][slotName]`.
    public internal(set) var state: [String: [String: Tensor]] = [:]
    /// Per-parameter number of updates so far.
    public internal(set) var steps: [String: Int] = [:]

    public init(learningRate: Float) {
        require(learningRate >= 0 && learningRate.isFinite, "Optimizer: learning rate must be a finite number ≥ 0, got \(learningRate)")
        self.learningRate = learningRate
    }

    /// Updates every trainable parameter of `model` that has a gradient.
    public func update(_ model: Module, gradients: Gradients) {
        for (name, parameter) in model.trainableParameters() {
            guard let gradient = gradients[name] else { continue }
            require(
                gradient.shape == parameter.value.shape,
                "\(Self.self): gradient of \(name) has shape \(gradient.shape), parameter \(parameter.value.shape)")
            let step = (steps[name] ?? 0) + 1
            steps[name] = step
            // Taken out of the parameter and the state so that each tensor is uniquely
            // referenced and the update writes in place instead of copying it.
            var slots = state.removeValue(forKey: name) ?? [:]
            var value = parameter.value.detached()
            parameter.value = Tensor.zeros([0])
            update(parameter: &value, gradient: gradient, state: &slots, step: step)
            parameter.value = value
            state[name] = slots
        }
    }

    /// Updates one parameter in place. `state` starts empty for a new parameter; `step`
    /// counts from 1. `parameter` and the tensors in `state` are uniquely referenced:
    /// take a slot out of `state` before writing to it, so that it is not copied.
    open func update(parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor], step: Int) {
        fatalError("\(Self.self) must override update(parameter:gradient:state:step:)")
    }

    /// The state as safetensors: tensors named `parameter.slot`; step counts and the
    /// learning rate in the metadata.
    public func stateDictionary() -> SafeTensors {
        var result = SafeTensors()
        for (name, slots) in state {
            for (slot, tensor) in slots { result.tensors["\(name).\(slot)"] = tensor }
        }
        let encodedSteps = try! JSONSerialization.data(withJSONObject: steps, options: [.sortedKeys])
        result.metadata = ["steps": String(decoding: encodedSteps, as: UTF8.self), "learning_rate": "\(learningRate)"]
        return result
    }

    /// Restores state written by ``stateDictionary()``.
    ///
    /// - Throws: ``SafeTensorsError`` naming `source` when the metadata is malformed or a
    ///   tensor belongs to no parameter with steps.
    public func load(_ dictionary: SafeTensors, source: String) throws {
        guard let stepsText = dictionary.metadata["steps"],
              let parsed = try? JSONSerialization.jsonObject(with: Data(stepsText.utf8)) as? [String: Int],
              let rate = dictionary.metadata["learning_rate"].flatMap(Float.init)
        else {
            throw SafeTensorsError(path: source, kind: .invalidHeader(reason: "optimizer state needs 'steps' and 'learning_rate' metadata"))
        }
        var restored: [String: [String: Tensor]] = [:]
        for (key, tensor) in dictionary.tensors {
            guard let dot = key.lastIndex(of: "."), parsed[String(key[..<dot])] != nil else {
                throw SafeTensorsError(path: source, kind: .invalidHeader(reason: "optimizer state '\(key)' belongs to no parameter"))
            }
            restored[String(key[..<dot]), default: [:]][String(key[key.index(after: dot)...])] = tensor
        }
        state = restored
        steps = parsed
        learningRate = rate
    }

    /// Runs `body` over slices of the elements in parallel, for elementwise updates.
    static func forEachSlice(count: Int, _ body: (Range<Int>) -> Void) {
        Parallel.forEachRange(count, grain: 1 << 16, body)
    }
}
