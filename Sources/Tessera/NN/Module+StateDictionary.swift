import Foundation

/// Why parameters could not be loaded into a module; names every offending tensor.
public struct ModuleLoadingError: Error, Equatable, CustomStringConvertible {
    /// Names the module expects that the source lacks.
    public var missing: [String] = []
    /// Names in the source that the module does not have.
    public var unexpected: [String] = []
    /// Names whose shapes differ: (name, expected, found).
    public var shapeMismatches: [ShapeMismatch] = []
    /// Where the parameters came from, for the message.
    public var source: String

    /// One tensor whose shape differs from the module's.
    public struct ShapeMismatch: Equatable, Sendable {
        public let name: String
        public let expected: [Int]
        public let found: [Int]

        public init(name: String, expected: [Int], found: [Int]) {
            (self.name, self.expected, self.found) = (name, expected, found)
        }
    }

    public var description: String {
        var parts: [String] = []
        if !shapeMismatches.isEmpty {
            parts.append("wrong shape: " + MessageText.list(shapeMismatches.map { "\($0.name) is \($0.found), expected \($0.expected)" }, separator: "; "))
        }
        if !missing.isEmpty { parts.append("missing: " + MessageText.list(missing)) }
        if !unexpected.isEmpty { parts.append("unexpected: " + MessageText.list(unexpected)) }
        return "\(source): cannot load parameters (\(parts.joined(separator: " | ")))"
    }
}

extension Module {
    /// Every parameter and counter by dotted name, as PyTorch's `state_dict()`: F32
    /// tensors, and counters as I64 scalars.
    public func stateDictionary(metadata: [String: String] = [:]) -> SafeTensors {
        var result = SafeTensors(metadata: metadata)
        for (name, parameter) in namedParameters() { result.tensors[name] = parameter.value.detached() }
        for (name, counter) in allCounters() { result.integerTensors[name] = Int64Tensor(shape: [], values: [counter.value]) }
        return result
    }

    /// Loads parameters and counters by name, after checking every name and shape.
    ///
    /// - Parameter source: names the file in error messages.
    /// - Throws: ``ModuleLoadingError`` listing every missing, unexpected or mis-shaped
    ///   tensor; nothing is changed then.
    public func load(_ dictionary: SafeTensors, source: String) throws {
        let parameters = namedParameters(), counters = allCounters()
        var error = ModuleLoadingError(source: source)
        for (name, parameter) in parameters {
            guard let tensor = dictionary.tensors[name] else {
                error.missing.append(name)
                continue
            }
            if tensor.shape != parameter.value.shape {
                error.shapeMismatches.append(.init(name: name, expected: parameter.value.shape, found: tensor.shape))
            }
        }
        for (name, _) in counters where dictionary.integerTensors[name]?.values.count != 1 {
            error.missing.append(name)
        }
        let known = Set(parameters.map(\.0) + counters.map(\.0))
        error.unexpected = (Array(dictionary.tensors.keys) + Array(dictionary.integerTensors.keys)).filter { !known.contains($0) }.sorted()
        guard error.missing.isEmpty && error.unexpected.isEmpty && error.shapeMismatches.isEmpty else { throw error }
        for (name, parameter) in parameters { parameter.value = dictionary.tensors[name]! }
        for (name, counter) in counters { counter.value = dictionary.integerTensors[name]!.values[0] }
    }
}
