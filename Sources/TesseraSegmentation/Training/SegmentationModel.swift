import Tessera

extension UNet {
    /// Logits for images of any size: the input is zero-padded at the bottom and right to
    /// a multiple of `2^depth`, and the logits are cropped back (differentiable).
    public func logits(_ images: Tensor) -> Tensor {
        let multiple = configuration.sizeMultiple
        let (height, width) = (images.shape[2], images.shape[3])
        let amounts = SpatialPadding.Amounts(
            top: 0, bottom: (multiple - height % multiple) % multiple, left: 0, right: (multiple - width % multiple) % multiple)
        if amounts.isZero { return self(images) }
        return crop(self(pad(images, amounts)), amounts)
    }
}
