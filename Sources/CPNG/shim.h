#ifndef TESSERA_CPNG_SHIM_H
#define TESSERA_CPNG_SHIM_H

// libpng. Writing uses the simplified API (png_image_*), which reports errors through the
// png_image. Reading uses the full API, which alone can return samples exactly as stored
// (no gamma correction, no premultiplied alpha) and bound what a file may make libpng
// allocate; it reports errors by longjmp, which Swift cannot catch, so the two functions
// below hold the setjmp and return an error code with libpng's message instead.

#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/// What a PNG holds, as tessera_png_read will return it.
typedef struct {
    uint32_t width, height;
    /// 8 or 16 (1, 2 and 4-bit samples are scaled to 8 bits; palette indices are 8-bit).
    int bit_depth;
    /// Stored colour channels: 1 gray or palette, 3 RGB (alpha is never returned).
    int channels;
    int is_palette;
    /// Why reading failed, when it did.
    char message[200];
} tessera_png_info;

/// The bytes being read and the read position.
typedef struct {
    const unsigned char *data;
    size_t size, offset;
    tessera_png_info *info;
} tessera_png_source;

static void tessera_png_error(png_structp png, png_const_charp message) {
    tessera_png_source *source = (tessera_png_source *)png_get_io_ptr(png);
    strncpy(source->info->message, message, sizeof source->info->message - 1);
    png_longjmp(png, 1);
}

static void tessera_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void tessera_png_read_bytes(png_structp png, png_bytep target, size_t count) {
    tessera_png_source *source = (tessera_png_source *)png_get_io_ptr(png);
    if (count > source->size - source->offset) png_error(png, "read beyond end of data (truncated file)");
    memcpy(target, source->data + source->offset, count);
    source->offset += count;
}

/// Reads the header of the PNG in `data` into `info` and, when `samples` (16-bit,
/// interleaved) or `indices` (palette files) is given, decodes the pixels into it, with
/// `palette` (256 RGB triples) filled for palette files. Returns 0, or -1 with
/// `info->message` set. No chunk may make libpng allocate more than `chunk_limit` bytes,
/// and no image may exceed `maximum_side` pixels across.
static inline int tessera_png_read(
    const unsigned char *data, size_t size, uint32_t maximum_side, size_t chunk_limit,
    tessera_png_info *info, uint16_t *samples, uint8_t *indices, uint8_t *palette
) {
    memset(info, 0, sizeof *info);
    tessera_png_source source = {data, size, 0, info};
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        strcpy(info->message, "Not a PNG file");
        return -1;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, tessera_png_error, tessera_png_warning);
    png_infop png_info = png ? png_create_info_struct(png) : NULL;
    png_bytep volatile row = NULL;
    if (!png_info) {
        strcpy(info->message, "cannot start the PNG decoder");
        png_destroy_read_struct(&png, NULL, NULL);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(row);
        png_destroy_read_struct(&png, &png_info, NULL);
        return -1;
    }
    png_set_read_fn(png, &source, tessera_png_read_bytes);
    png_set_user_limits(png, maximum_side, maximum_side);
    png_set_chunk_malloc_max(png, chunk_limit);
    png_read_info(png, png_info);
    int color = png_get_color_type(png, png_info), depth = png_get_bit_depth(png, png_info);
    info->width = png_get_image_width(png, png_info);
    info->height = png_get_image_height(png, png_info);
    info->is_palette = color == PNG_COLOR_TYPE_PALETTE;
    info->channels = (color & PNG_COLOR_MASK_COLOR) && !info->is_palette ? 3 : 1;
    info->bit_depth = depth == 16 ? 16 : 8;
    if (!samples && !indices) {
        png_destroy_read_struct(&png, &png_info, NULL);
        return 0;
    }
    if (info->is_palette) {
        png_colorp entries;
        int count = 0;
        if (png_get_PLTE(png, png_info, &entries, &count) != PNG_INFO_PLTE) png_error(png, "palette image without a palette");
        for (int i = 0; i < count && i < 256; i++) {
            palette[3 * i] = entries[i].red;
            palette[3 * i + 1] = entries[i].green;
            palette[3 * i + 2] = entries[i].blue;
        }
        if (depth < 8) png_set_packing(png);
    } else if (depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png);
    }
    if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    if (depth == 16) png_set_swap(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, png_info);
    size_t row_bytes = png_get_rowbytes(png, png_info), values = (size_t)info->width * info->channels;
    if (row_bytes < values * (info->bit_depth / 8)) png_error(png, "unexpected row size");
    row = (png_bytep)malloc(row_bytes);
    if (!row) png_error(png, "out of memory for one row");
    // Interlaced files need each row's earlier passes: decode into the output, row by row,
    // through a row buffer that holds that row's pixels so far.
    for (int pass = 0; pass < passes; pass++) {
        for (uint32_t y = 0; y < info->height; y++) {
            size_t first = (size_t)y * values;
            if (pass > 0) {
                for (size_t i = 0; i < values; i++) {
                    if (info->bit_depth == 16) ((uint16_t *)row)[i] = samples[first + i];
                    else row[i] = indices ? indices[first + i] : (png_byte)samples[first + i];
                }
            }
            png_read_row(png, row, NULL);
            for (size_t i = 0; i < values; i++) {
                if (info->bit_depth == 16) samples[first + i] = ((uint16_t *)row)[i];
                else if (indices) indices[first + i] = row[i];
                else samples[first + i] = row[i];
            }
        }
    }
    png_read_end(png, NULL);
    free(row);
    png_destroy_read_struct(&png, &png_info, NULL);
    return 0;
}

#endif
