import Foundation

extension Module {
    /// The stored properties of this tree that hold a plain `Tensor` (or an optional or
    /// array of them), by dotted name: gradients, optimizers and state dictionaries skip
    /// them, since only ``Parameter`` boxes are discovered.
    public func plainTensorProperties() -> [String] {
        let own = Mirror(reflecting: self).children.compactMap { child -> String? in
            // By static type: a nil of any optional would cast to `Tensor?`.
            let type = Swift.type(of: child.value)
            guard let label = child.label, type == Tensor.self || type == Tensor?.self || type == [Tensor].self else { return nil }
            return Module.snakeCase(label)
        }
        return own + namedChildren().flatMap { name, child in child.plainTensorProperties().map { "\(name).\($0)" } }
    }

    /// One line on standard error for each plain `Tensor` property of the tree not reported
    /// before in this process: a weight held that way would silently never train.
    func warnAboutPlainTensors() {
        let names = plainTensorProperties()
        guard !names.isEmpty else { return }
        let fresh = PlainTensorWarnings.shared.firstTime(names.map { "\(type(of: self)).\($0)" })
        for name in fresh {
            FileHandle.standardError.write(Data("""
                tessera: warning: \(name) is a plain Tensor, so gradients and optimizers skip it and state \
                dictionaries do not save it; hold it in a Parameter to train it (or a frozen Parameter to keep it \
                fixed and saved)\n
                """.utf8))
        }
    }
}

/// The plain-tensor properties already reported in this process.
private final class PlainTensorWarnings: @unchecked Sendable {
    static let shared = PlainTensorWarnings()
    private let lock = NSLock()
    private var reported: Set<String> = []

    /// The names of `names` not reported before, now marked as reported.
    func firstTime(_ names: [String]) -> [String] {
        lock.withLock { names.filter { reported.insert($0).inserted } }
    }
}
