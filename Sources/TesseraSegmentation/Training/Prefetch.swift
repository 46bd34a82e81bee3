import Dispatch
import Tessera

/// Makes the next step's value on a background thread while the current step computes,
/// as PyTorch's DataLoader workers and nnU-Net's background augmenter do: cropping,
/// augmentation and border weights stay off the step's critical path. The value of a step
/// must depend on the step alone (the batch's seeds do), so that prefetching never changes
/// what is trained on. The background thread computes with the ``ExecutionContext`` of the
/// thread that starts it.
package final class Prefetch<Value: Sendable>: @unchecked Sendable {
    private final class Slot: @unchecked Sendable { var value: Value? }

    private let queue = DispatchQueue(label: "tessera.prefetch")
    private var pending: (step: Int, group: DispatchGroup, slot: Slot)?

    package init() {}

    /// Starts making the value of `step` in the background, after any value in flight.
    package func start(step: Int, _ make: @escaping @Sendable () -> Value) {
        wait()
        let (group, slot) = (DispatchGroup(), Slot())
        let context = ExecutionContext.current
        queue.async(group: group) { slot.value = withExecutionContext(context, make) }
        pending = (step, group, slot)
    }

    /// The value of `step`: the one made in the background if it was started, else `make()`.
    package func take(step: Int, orMake make: () -> Value) -> Value {
        guard let started = pending, started.step == step else {
            wait()
            return make()
        }
        started.group.wait()
        pending = nil
        return started.slot.value!
    }

    /// Waits for the value in flight, if any, and drops it.
    package func wait() {
        pending?.group.wait()
        pending = nil
    }
}
