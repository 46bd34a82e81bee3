import Foundation

/// The base class of layers and models: a tree of submodules holding named parameters.
///
/// A module discovers its own parameters and submodules by reflection over its stored
/// properties, naming them after the properties in snake case (`doubleConv` becomes
/// `double_conv`), so dotted names such as `down1.maxpool_conv.1.double_conv.0.weight`
/// match PyTorch's. Arrays of modules are numbered (`layers.0`, `layers.1`, …). Override
/// ``namedChildren()`` or ``namedParameterBoxes()`` to name things differently.
open class Module {
    /// Whether the module is in training mode (batch statistics, dropout active).
    public private(set) var isTraining = true

    public init() {}

    /// The direct submodules with their names. By default, every stored property holding
    /// a module or an array of modules.
    open func namedChildren() -> [(String, Module)] {
        var children: [(String, Module)] = []
        for child in Mirror(reflecting: self).children {
            guard let label = child.label.map(Module.snakeCase) else { continue }
            if let module = child.value as? Module {
                children.append((label, module))
            } else if let modules = child.value as? [Module] {
                children += modules.enumerated().map { ("\(label).\($0.offset)", $0.element) }
            }
        }
        return children
    }

    /// This module's own parameters (not its children's) with their names. By default,
    /// every stored property holding a ``Parameter``.
    open func namedParameterBoxes() -> [(String, Parameter)] {
        Mirror(reflecting: self).children.compactMap { child in
            guard let label = child.label, let parameter = child.value as? Parameter else { return nil }
            return (Module.snakeCase(label), parameter)
        }
    }

    /// This module's own counters with their names. By default, every stored property
    /// holding a ``Counter``.
    open func namedCounters() -> [(String, Counter)] {
        Mirror(reflecting: self).children.compactMap { child in
            guard let label = child.label, let counter = child.value as? Counter else { return nil }
            return (Module.snakeCase(label), counter)
        }
    }

    /// Every parameter of the tree (trainable, frozen and state), parents first, by
    /// dotted name.
    public func namedParameters() -> [(String, Parameter)] {
        namedParameterBoxes() + namedChildren().flatMap { name, child in
            child.namedParameters().map { ("\(name).\($0.0)", $0.1) }
        }
    }

    /// Every counter of the tree by dotted name.
    public func allCounters() -> [(String, Counter)] {
        namedCounters() + namedChildren().flatMap { name, child in
            child.allCounters().map { ("\(name).\($0.0)", $0.1) }
        }
    }

    /// The parameters that gradients and optimizers act on.
    public func trainableParameters() -> [(String, Parameter)] {
        namedParameters().filter { $0.1.isTrainable }
    }

    /// The number of trainable scalar weights.
    public var trainableParameterCount: Int {
        trainableParameters().reduce(0) { $0 + $1.1.value.count }
    }

    /// Sets training mode for this module and all submodules.
    public func train(_ training: Bool = true) {
        isTraining = training
        for (_, child) in namedChildren() { child.train(training) }
    }

    /// Sets evaluation mode (running statistics, no dropout) for the whole tree.
    public func eval() {
        train(false)
    }

    /// Excludes every parameter of this subtree from training.
    public func freeze() {
        for (_, parameter) in namedParameters() { parameter.isFrozen = true }
    }

    /// Makes every non-state parameter of this subtree trainable again.
    public func unfreeze() {
        for (_, parameter) in namedParameters() { parameter.isFrozen = false }
    }

    /// `doubleConv` → `double_conv`, `down1` → `down1`.
    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase {
                if !result.isEmpty { result += "_" }
                result += character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// A module that maps one tensor to one tensor; the building block of ``Sequential``.
public protocol UnaryLayer: Module {
    func callAsFunction(_ input: Tensor) -> Tensor
}
