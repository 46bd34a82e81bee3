import Foundation
import Testing
import Tessera

/// Reductions, broadcasting and gradient scopes as a library user composes them.
@Suite("gradient scopes: reductions, broadcasting, nesting, refusals")
struct GradientScopeTests {
    /// A random weighting of `output`, so that every element's gradient differs.
    private static func probe(_ output: Tensor, seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        return Tensor.normal(output.shape, using: &generator)
    }

    @Test("sum, mean and max along an axis are differentiable", arguments: [0, 1, 2])
    func reductionsAlongAxes(axis: Int) {
        var generator = RandomGenerator(seed: 11)
        let x = Tensor.normal([3, 4, 5], using: &generator)
        for (name, reduce) in [
            ("sum", { (t: Tensor) in t.sum(alongAxis: axis) }), ("mean", { $0.mean(alongAxis: axis) }),
            ("max", { $0.max(alongAxis: axis) }),
        ] {
            let weights = Self.probe(reduce(x), seed: 5)
            let (_, gradients) = valueAndGradient(at: [x]) { (reduce($0[0]) * weights).sum() }
            #expect(gradients[0].maximumAbsoluteDifference(to: .zeros(x.shape)) > 0, "\(name) along \(axis): zero gradient")
            let failure = GradientCheck.mismatch(analytic: gradients[0], at: x, step: 1e-3) {
                GradientCheck.weightedSum(reduce($0), weights)
            }
            #expect(failure == nil, "\(name) along \(axis): \(failure ?? "")")
        }
    }

    @Test("group norm, layer norm and softmax along any axis match finite differences in every operand")
    func normalisationsAndSoftmaxes() {
        var generator = RandomGenerator(seed: 21)
        let x = Tensor.normal([2, 4, 3, 3], using: &generator) * 2 + 1
        let (weight, bias) = (Tensor.normal([4], using: &generator), Tensor.normal([4], using: &generator))
        let (rowWeight, rowBias) = (Tensor.normal([3, 3], using: &generator), Tensor.normal([3, 3], using: &generator))
        let functions: [(String, ([Tensor]) -> Tensor, [Tensor])] = [
            ("group_norm", { groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2]) }, [x, weight, bias]),
            ("group_norm without affine", { groupNorm($0[0], groups: 4, weight: nil, bias: nil) }, [x]),
            ("layer_norm", { layerNorm($0[0], normalizedShape: [3, 3], weight: $0[1], bias: $0[2]) }, [x, rowWeight, rowBias]),
            ("softmax along 3", { softmax($0[0], alongAxis: 3) }, [x]),
            ("logSoftmax along 0", { logSoftmax($0[0], alongAxis: 0) }, [x]),
        ]
        for (name, function, points) in functions {
            let weights = Self.probe(function(points), seed: 9)
            let (_, gradients) = valueAndGradient(at: points) { (function($0) * weights).sum() }
            for operand in points.indices {
                let failure = GradientCheck.mismatch(analytic: gradients[operand], at: points[operand], step: 1e-2) { point in
                    var changed = points
                    changed[operand] = point
                    return GradientCheck.weightedSum(function(changed), weights)
                }
                #expect(failure == nil, "\(name), operand \(operand): \(failure ?? "")")
            }
        }
    }

    @Test("max along an axis and argmax pick the first maximum")
    func argmaxPicksFirstMaximum() {
        let x = Tensor(shape: [2, 3], scalars: [1, 5, 5, 7, -1, 2])
        #expect(x.argmax(alongAxis: 1) == [1, 0])
        #expect(x.argmax(alongAxis: 0) == [1, 0, 0])
        #expect(x.max(alongAxis: 1).scalars == [5, 7])
        let (_, gradients) = valueAndGradient(at: [x]) { $0[0].max(alongAxis: 1).sum() }
        #expect(gradients[0].scalars == [0, 1, 0, 1, 0, 0])
    }

    @Test("global average pooling written with mean(alongAxis:) trains the convolution before it")
    func globalAveragePoolingPassesGradients() {
        var generator = RandomGenerator(seed: 3)
        let conv = Conv2d(inputChannels: 1, outputChannels: 4, kernelSize: 3, padding: 1, generator: &generator)
        let x = Tensor.normal([2, 1, 6, 6], using: &generator)
        let (_, gradients) = valueAndGradient(of: conv) { conv in
            conv(x).reshaped([2, 4, 36]).mean(alongAxis: 2).max(alongAxis: 1).sum()
        }
        #expect(gradients["weight"]!.maximumAbsoluteDifference(to: .zeros([4, 1, 3, 3])) > 1e-3)
    }

    @Test("arithmetic broadcasts as PyTorch does, and gradients sum back to each operand's shape")
    func broadcasting() {
        var generator = RandomGenerator(seed: 8)
        let cases: [([Int], [Int], [Int])] = [([4, 3], [3], [4, 3]), ([4, 3], [], [4, 3]), ([2, 1, 3], [4, 1], [2, 4, 3])]
        for (left, right, expected) in cases {
            let a = Tensor.normal(left, using: &generator), b = Tensor.normal(right, using: &generator) + 3
            let operations: [(String, (Tensor, Tensor) -> Tensor)] = [("+", { $0 + $1 }), ("-", { $0 - $1 }), ("*", { $0 * $1 }), ("/", { $0 / $1 })]
            for (symbol, operation) in operations {
                let output = operation(a, b)
                #expect(output.shape == expected, "\(left) \(symbol) \(right)")
                let weights = Self.probe(output, seed: 9)
                let (_, gradients) = valueAndGradient(at: [a, b]) { (operation($0[0], $0[1]) * weights).sum() }
                #expect(gradients[0].shape == left && gradients[1].shape == right)
                for (index, point) in [a, b].enumerated() {
                    let failure = GradientCheck.mismatch(analytic: gradients[index], at: point, step: 1e-3) { perturbed in
                        let pair = index == 0 ? (perturbed, b) : (a, perturbed)
                        return GradientCheck.weightedSum(operation(pair.0, pair.1), weights)
                    }
                    #expect(failure == nil, "\(left) \(symbol) \(right), operand \(index): \(failure ?? "")")
                }
            }
        }
        // A row of biases added to every row: [[1, 2], [3, 4]] + [10, 20].
        #expect((Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]) + Tensor([10, 20])).scalars == [11, 22, 13, 24])
    }

    @Test("a scope inside another leaves the outer gradients as they are without it")
    func nestedScopesKeepTheirOwnTapes() {
        var generator = RandomGenerator(seed: 21)
        let model = TinyEncoderDecoder(generator: &generator)
        let x = Tensor.normal([2, 1, 8, 8], using: &generator)
        let y = Tensor.uniform([2, 1, 8, 8], using: &generator).map { $0 > 0.5 ? 1 : 0 }
        let plain = valueAndGradient(of: model) { TinyEncoderDecoder.loss($0(x), y) }.gradients
        let alone = valueAndGradient(at: [x]) { TinyEncoderDecoder.loss(model($0[0]), y) }.gradients[0]
        var inner: Tensor?
        let nested = valueAndGradient(of: model) { model in
            inner = valueAndGradient(at: [x]) { TinyEncoderDecoder.loss(model($0[0]), y) }.gradients[0]
            return TinyEncoderDecoder.loss(model(x), y)
        }.gradients
        for name in plain.names {
            #expect(nested[name]!.maximumAbsoluteDifference(to: plain[name]!) <= 1e-6, "\(name)")
        }
        #expect(inner!.maximumAbsoluteDifference(to: alone) <= 1e-6)
    }

    @Test("scopes in parallel tasks on one model each get their own gradients")
    func parallelScopesOnOneModel() async {
        var generator = RandomGenerator(seed: 22)
        let model = TinyEncoderDecoder(generator: &generator)
        model.eval()  // batch norm then only reads its running statistics
        let inputs = (0..<4).map { _ in Tensor.normal([1, 1, 8, 8], using: &generator) }
        let serial = inputs.map { x in valueAndGradient(of: model) { $0(x).sum() }.gradients["out.weight"]! }
        nonisolated(unsafe) let shared = model
        let parallel = await withTaskGroup(of: (Int, Tensor).self) { group in
            for (index, x) in inputs.enumerated() {
                group.addTask { (index, valueAndGradient(of: shared) { $0(x).sum() }.gradients["out.weight"]!) }
            }
            var results = [Tensor?](repeating: nil, count: inputs.count)
            for await (index, gradient) in group { results[index] = gradient }
            return results
        }
        for index in inputs.indices {
            #expect(parallel[index]!.maximumAbsoluteDifference(to: serial[index]) <= 1e-6, "task \(index)")
        }
    }

    @Test("operations that cannot pass a gradient on are refused inside a scope, naming the operation")
    func untrackedOperationsAreRefused() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = valueAndGradient(at: [Tensor([1, 2])]) { $0[0].map { $0 * $0 }.sum() }
        }.map { result in
            #expect(String(decoding: result.standardErrorContent, as: UTF8.self).contains("Tensor.map is not differentiable"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = valueAndGradient(at: [Tensor([1, 2])]) { inputs in
                var x = inputs[0]
                x[0] = 5
                return x.sum()
            }
        }.map { result in
            #expect(String(decoding: result.standardErrorContent, as: UTF8.self).contains("writing an element (Tensor subscript) is not differentiable"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = valueAndGradient(at: [Tensor([1, 2])]) { inputs in
                var x = inputs[0] * 2
                x.withUnsafeMutableBufferPointer { $0[0] = 1 }
                return x.sum()
            }
        }.map { result in
            #expect(String(decoding: result.standardErrorContent, as: UTF8.self).contains("Tensor.withUnsafeMutableBufferPointer is not differentiable"))
        }
        // Cutting the gradient deliberately is allowed: the constant contributes nothing.
        let (_, gradients) = valueAndGradient(at: [Tensor([1, 2])]) { $0[0].detached().map { $0 * 10 }.sum() + $0[0].sum() }
        #expect(gradients[0].scalars == [1, 1])
    }
}
