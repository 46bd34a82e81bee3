import Testing
import Tessera

/// `withError`: shape mismatches in a user's model thrown as `ShapeError`, not trapped.
@Suite("withError: shape mismatches thrown to the caller")
struct ShapeErrorTests {
    /// Each operation a model's author composes, given operands that do not fit, and the
    /// start of the message it throws.
    static func mismatches() -> [(String, () -> Tensor)] {
        var generator = RandomGenerator(seed: 31)
        let conv = Conv2d(inputChannels: 3, outputChannels: 4, kernelSize: 3, generator: &generator)
        let transposed = ConvTranspose2d(inputChannels: 3, outputChannels: 4, kernelSize: 2, stride: 2, generator: &generator)
        let dense = Linear(inputFeatures: 5, outputFeatures: 2, generator: &generator)
        let image = Tensor.zeros([1, 2, 8, 8])
        return [
            ("Tensor +: shapes [2] and [3] do not broadcast", { Tensor([1, 2]) + Tensor([1, 2, 3]) }),
            ("Tensor *: shapes [2, 3] and [2] do not broadcast", { Tensor.zeros([2, 3]) * Tensor([1, 2]) }),
            ("matmul: inner dimensions differ: [2, 3] · [4, 2]", { Tensor.zeros([2, 3]).matmul(Tensor.zeros([4, 2])) }),
            ("matmul: batch sizes differ: [2, 3, 3] · [3, 3, 3]", { Tensor.zeros([2, 3, 3]).matmul(Tensor.zeros([3, 3, 3])) }),
            ("matmul: inner dimensions differ: [2, 3] · [4, 1]", { Tensor.zeros([2, 3]).matmul(Tensor.zeros([4])) }),
            ("matmul: expected ranks", { Tensor.zeros([2]).matmul(Tensor.zeros([2])) }),
            ("reshaped: cannot view shape [2, 3] (6 elements) as [4]", { Tensor.zeros([2, 3]).reshaped([4]) }),
            ("concatenate along 1: shapes [1, 2, 4, 4] and [1, 2, 5, 4] differ", {
                concatenate([Tensor.zeros([1, 2, 4, 4]), Tensor.zeros([1, 2, 5, 4])], alongAxis: 1)
            }),
            ("concatenate: shapes [1, 2] and [2] differ in rank", { concatenate([Tensor.zeros([1, 2]), Tensor.zeros([2])], alongAxis: 0) }),
            ("Conv2d: input [1, 2, 8, 8] needs [N, 3, H, W]", { conv(image) }),
            ("ConvTranspose2d: input [1, 2, 8, 8] needs [N, 3, H, W]", { transposed(image) }),
            ("Linear: input [4, 6] needs [N, 5]", { dense(Tensor.zeros([4, 6])) }),
            ("BatchNorm2d: input [1, 2, 8, 8] needs [N, 3, …]", { BatchNorm2d(features: 3)(image) }),
            ("GroupNorm: input [1, 2, 8, 8] needs [N, 4, …]", { GroupNorm(groups: 2, channels: 4)(image) }),
            ("group_norm: input [1, 2, 8, 8] needs [N, C, …] with C a positive multiple of 3", {
                groupNorm(image, groups: 3, weight: nil, bias: nil)
            }),
            ("layer_norm: input [1, 2, 8, 8] does not end in the normalized shape [4]", { LayerNorm(normalizedShape: [4])(image) }),
            ("GlobalAvgPool2d: expected [N, C, H, W], got [2, 8]", { GlobalAvgPool2d()(Tensor.zeros([2, 8])) }),
            ("Flatten: expected [N, …], got []", { Flatten()(Tensor.zeros([])) }),
            ("binary_cross_entropy_with_logits: logits [1, 2, 8, 8], targets [1, 1, 8, 8]", {
                binaryCrossEntropyWithLogits(image, Tensor.zeros([1, 1, 8, 8]))
            }),
            ("soft_dice: probabilities [1, 2, 8, 8] and targets [1, 2, 8]", { softDiceLoss(image, Tensor.zeros([1, 2, 8])) }),
            ("cross_entropy: 3 targets do not match logits [4, 2]", { crossEntropy(Tensor.zeros([4, 2]), [0, 1, 1] as [Int32]) }),
            ("cross_entropy: target 2 at position 1 is not a class in 0..<2", { crossEntropy(Tensor.zeros([2, 2]), [0, 2] as [Int32]) }),
            ("crossEntropy: target class 5 out of range for logits [2, 2]", { crossEntropy(Tensor.zeros([2, 2]), [0, 5] as [Int]) }),
            ("Tensor[2..<5]: out of range for shape [3, 2]", { Tensor.zeros([3, 2])[2..<5] }),
            ("Tensor.sum(alongAxis:): axis 2 out of range for shape [3, 2]", { Tensor.zeros([3, 2]).sum(alongAxis: 2) }),
            ("Tensor.max(alongAxis:): axis -1 out of range for shape [3, 2]", { Tensor.zeros([3, 2]).max(alongAxis: -1) }),
            ("Tensor.sum(alongAxis:): axis 3 out of range for shape [3, 2]", { Tensor.zeros([3, 2]).mean(alongAxis: 3) }),
            ("softmax(alongAxis:): axis 2 out of range for shape [3, 2]", { softmax(Tensor.zeros([3, 2]), alongAxis: 2) }),
            ("logSoftmax(alongAxis:): axis 5 out of range for shape [3, 2]", { logSoftmax(Tensor.zeros([3, 2]), alongAxis: 5) }),
            ("Tensor.rows(at:): row 3 out of range for shape [3, 2]", { Tensor.zeros([3, 2]).rows(at: [0, 3]) }),
            ("Tensor.permuted([0, 0]): expected an ordering of the axes 0..<2", { Tensor.zeros([3, 2]).permuted([0, 0]) }),
            ("Tensor.flattened(fromAxis: 2): axis out of range for shape [3, 2]", { Tensor.zeros([3, 2]).flattened(fromAxis: 2) }),
            ("max_pool2d: kernel 3×3 with stride 3×3 does not fit input [1, 2, 2, 8]", { maxPool2d(Tensor.zeros([1, 2, 2, 8]), kernelSize: 3) }),
            ("max_pool2d: expected [N, C, H, W], got [2, 8]", { MaxPool2d()(Tensor.zeros([2, 8])) }),
            ("averagePool2d: kernel 4×4 does not fit the 2×8 input", { AvgPool2d(kernelSize: 4)(Tensor.zeros([1, 2, 2, 8])) }),
            ("averagePool2d: expected [N, C, H, W], got [8]", { averagePool2d(Tensor.zeros([8])) }),
            ("concatenate: no tensors", { concatenate([], alongAxis: 0) }),
            ("concatenate: axis 2 out of range for shape [1, 2]", { concatenate([Tensor.zeros([1, 2])], alongAxis: 2) }),
            ("transposed: expected a matrix or a stack of matrices, got shape [3]", { Tensor.zeros([3]).transposed() }),
            ("Tensor.mean: tensor of shape [0, 2] is empty", { Tensor.zeros([0, 2]).mean() }),
            ("Tensor.max: tensor of shape [0] is empty", { Tensor.zeros([0]).max() }),
            ("Tensor.mean(alongAxis:): axis 0 of shape [0, 2] is empty", { Tensor.zeros([0, 2]).mean(alongAxis: 0) }),
            ("Tensor.max(alongAxis:): axis 1 of shape [2, 0] is empty", { Tensor.zeros([2, 0]).max(alongAxis: 1) }),
            ("Tensor.argmax(alongAxis:): axis 1 of shape [2, 0] is empty", { Tensor(Tensor.zeros([2, 0]).argmax(alongAxis: 1).map(Float.init)) }),
            ("Tensor subscript: index [3, 0] out of range for shape [3, 2]", { Tensor([Tensor.zeros([3, 2])[3, 0]]) }),
            ("Tensor subscript: index [1] has 1 components, shape [3, 2] has 2", {
                var x = Tensor.zeros([3, 2])
                x[1] = 5
                return x
            }),
            ("expanded(to:): shape [3] does not expand to [2, 4]", { Tensor.zeros([3]).expanded(to: [2, 4]) }),
            ("summed(toShape:): shape [2, 4] is not an expansion of [3]", { Tensor.zeros([2, 4]).summed(toShape: [3]) }),
        ]
    }

    @Test("every composable operation throws its mismatch, naming the operation and the shapes", arguments: 0..<mismatches().count)
    func operationThrows(index: Int) {
        let (message, operation) = Self.mismatches()[index]
        let error = #expect(throws: ShapeError.self) { try withError { operation() } }
        #expect(error?.description.hasPrefix(message) == true, "\(error?.description ?? "nothing thrown"), expected \(message)")
    }

    @Test("inside the scope a layer that does not fit returns zeros of the shape it would have returned")
    func placeholderShapes() {
        var generator = RandomGenerator(seed: 32)
        let conv = Conv2d(inputChannels: 3, outputChannels: 4, kernelSize: 3, padding: 1, generator: &generator)
        let transposed = ConvTranspose2d(inputChannels: 3, outputChannels: 4, kernelSize: 2, stride: 2, generator: &generator)
        var shapes: [[Int]] = []
        #expect(throws: ShapeError.self) {
            try withError {
                let output = conv(Tensor.ones([2, 1, 8, 8]))
                shapes.append(output.shape)
                shapes.append(transposed(Tensor.ones([2, 1, 8, 8])).shape)
                shapes.append(Tensor.zeros([2, 3]).matmul(Tensor.zeros([4, 5])).shape)
                #expect(output.scalars.allSatisfy { $0 == 0 })
            }
        }
        #expect(shapes == [[2, 4, 8, 8], [2, 4, 16, 16], [2, 5]])
    }

    @Test("a model fed the wrong channel count throws its first mismatch from a gradient scope, and trains afterwards")
    func modelMismatchInGradientScope() throws {
        var generator = RandomGenerator(seed: 33)
        let model = TinyEncoderDecoder(generator: &generator)
        let x = Tensor.normal([2, 1, 8, 8], using: &generator), wrong = Tensor.normal([2, 3, 8, 8], using: &generator)
        let y = Tensor.uniform([2, 1, 8, 8], using: &generator).map { $0 > 0.5 ? 1 : 0 }
        let before = valueAndGradient(of: model) { TinyEncoderDecoder.loss($0(x), y) }
        let error = #expect(throws: ShapeError.self) {
            try withError { valueAndGradient(of: model) { TinyEncoderDecoder.loss($0(wrong), y) } }
        }
        #expect(error?.description == "Conv2d: input [2, 3, 8, 8] needs [N, 1, H, W]")
        // The later mismatch (the loss's targets) is not the one reported.
        let loss = #expect(throws: ShapeError.self) {
            try withError { TinyEncoderDecoder.loss(model(wrong), Tensor.zeros([2, 1, 4, 4])) }
        }
        #expect(loss?.description.hasPrefix("Conv2d:") == true)

        let after = try withError { valueAndGradient(of: model) { TinyEncoderDecoder.loss($0(x), y) } }
        #expect(after.value.scalar == before.value.scalar)
        for name in before.gradients.names {
            #expect(after.gradients[name]!.maximumAbsoluteDifference(to: before.gradients[name]!) == 0, "\(name)")
        }
    }

    struct Refused: Error, Equatable {}

    @Test("the body's own errors pass through; a recorded mismatch wins over them; scopes nest")
    func errorsAndNesting() {
        #expect(throws: Refused()) { try withError { throw Refused() } }
        #expect(throws: ShapeError.self) {
            try withError {
                _ = Tensor.zeros([2]).reshaped([3])
                throw Refused()
            }
        }
        var inner: Error?
        let outer = Result {
            try withError {
                do { _ = try withError { Tensor.zeros([2]).reshaped([3]) } } catch { inner = error }
                return Tensor.zeros([2]) + Tensor.ones([2])
            }
        }
        #expect((try? outer.get())?.scalars == [1, 1])
        #expect((inner as? ShapeError)?.description.hasPrefix("reshaped:") == true)
    }
}
