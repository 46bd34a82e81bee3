/// A named tensor owned by a ``Module``: a trainable weight, or state such as batch
/// norm's running statistics that is saved and loaded but never trained.
///
/// Modules hold parameters by reference so that optimizers and loaders can update them in
/// place; the tensor inside keeps value semantics.
public final class Parameter: @unchecked Sendable {
    private var stored: Tensor

    /// The current value. Inside a gradient scope that differentiates this parameter it
    /// reads as a tensor on that scope's tape.
    public var value: Tensor {
        get {
            guard let leaf = Tape.active?.leafOf(self) else { return stored }
            var tracked = stored
            tracked.node = leaf
            return tracked
        }
        set { stored = newValue.detached() }
    }
    /// Whether this is state (updated by the forward pass, not by gradients).
    public let isState: Bool
    /// Whether training leaves this parameter unchanged (see ``Module/freeze()``).
    public var isFrozen = false

    /// Whether gradients are computed for this parameter and optimizers update it.
    public var isTrainable: Bool { !isState && !isFrozen }

    public init(_ value: Tensor, isState: Bool = false) {
        self.stored = value.detached()
        self.isState = isState
    }
}

/// An integer counter owned by a ``Module``, saved as an I64 tensor of shape `[]`
/// (batch norm's `num_batches_tracked`).
public final class Counter: @unchecked Sendable {
    public var value: Int64

    public init(_ value: Int64 = 0) {
        self.value = value
    }
}
