// The input pipeline's JPEG fast path: libjpeg-turbo decodes only the rows and columns a crop needs, at the largest DCT
// scale that keeps the crop at least as large as its resize, and one pass per image then resizes, jitters colour,
// flips and normalises into the batch's float32 buffer. The input pipeline's worker threads each fill whole batches.
#include <napi.h>

#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <string>
#include <vector>

#include <time.h>

namespace {

// One image's plan, as src/data/fast-jpeg.ts writes it: every value a float64.
enum Field {
  SRC_W, SRC_H,                      // the size the planner read from the frame header
  CROP_X, CROP_Y, CROP_W, CROP_H,    // window of the file's image that is resized
  RESIZE_W, RESIZE_H,                // size the window is resized to
  AFTER_X, AFTER_Y, OUT_W, OUT_H,    // window of the resized image that is kept
  CUBIC,                             // 1: bicubic (a = -0.75), 0: bilinear, both with OpenCV's pixel centres and borders
  FLIP_H, FLIP_V,
  JITTER,                            // 1: the colour steps below run, in ORDER
  ORDER0, ORDER1, ORDER2, ORDER3,    // 0 brightness, 1 contrast, 2 saturation, 3 lighting
  BRIGHT_ON, BRIGHT, CONTRAST, SAT_ON, SAT, LIGHT_ON, LIGHT0, LIGHT1, LIGHT2,
  GREY0, GREY1, GREY2,               // grey weights of the channels as they are stored
  CLIP,                              // float arithmetic: clip the jittered pixel to [0, 255]
  SCALE0, SCALE1, SCALE2, OFFSET0, OFFSET1, OFFSET2,  // normalisation: x * scale + offset
  SLOT,                              // where in the batch the image goes: at SLOT * OUT_H * OUT_W * 3 floats
  FIELDS
};

struct Options {
  bool uint8;       // tensorpack's uint8 arithmetic (OpenCV fixed-point resize, per-step truncation) instead of float
  bool dctScaling;  // decode at a reduced DCT scale when the crop allows
  bool bgr;         // store B, G, R (cv2.imread's order)
  double maxPixels; // frame headers claiming more pixels are refused before decoding
};

enum Status { OK = 0, DAMAGED = 1, UNSUPPORTED = 2 };

// CPU time of every decoding thread by stage (decode, resize, the colour/flip/normalise pass), for bench-data's profile.
std::atomic<int64_t> stageNs[3];
std::atomic<int64_t> imagesDone;

int64_t threadNs() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

struct Job {
  const uint8_t* bytes;
  size_t length;
  const double* plan;
  float* out;
  Status status = OK;
  std::string reason;
};

struct ErrorManager {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void onError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

// A file cut short is damaged (as the libvips path's failOn 'truncated'); other warnings pass, as they do in PIL.
void onMessage(j_common_ptr cinfo, int level) {
  if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) onError(cinfo);
}

// The source pixels and weights of each output pixel along one axis.
struct Taps {
  int count = 0;  // taps per output pixel
  std::vector<int> index;
  std::vector<float> weight;
  std::vector<int32_t> fixed;  // weight * 2048 rounded, OpenCV's INTER_RESIZE_COEF_SCALE for 8-bit images
  int lo = 0, hi = 0;      // first and last source index any tap reads
};

// OpenCV's interpolateCubic (imgproc/src/resize.cpp), in the precision the caller picks.
template <typename T>
void cubicWeights(T x, T* w) {
  const T A = T(-0.75);
  w[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
  w[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
  w[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
  w[3] = T(1) - w[0] - w[1] - w[2];
}

/**
 * Taps of outputs first..first+count-1 of a resize of the window [origin, origin + extent) of a decoded axis to `size`
 * pixels: OpenCV's half-pixel centres, the window's edge pixels repeated (it is cropped before it is resized). With
 * `opencvFloat` the position and weights are computed in float as cv::resize does for 8-bit images.
 */
Taps makeTaps(int first, int count, int size, double origin, double extent, int limit, bool resize, bool cubic,
              bool opencvFloat) {
  Taps t;
  const double base = std::floor(origin + 1e-9);
  const int lo = std::max(0, static_cast<int>(base));
  const int hi = std::min(limit - 1, std::max(lo, static_cast<int>(std::lround(origin + extent)) - 1));
  t.lo = hi;
  t.hi = lo;
  const bool identity = !resize || (size == extent && origin == base);
  t.count = identity ? 1 : cubic ? 4 : 2;
  const double scale = extent / size;
  for (int d = first; d < first + count; d++) {
    int idx[4];
    double w[4];
    if (identity) {
      idx[0] = std::min(hi, lo + d);
      w[0] = 1;
    } else {
      double local = (d + 0.5) * scale - 0.5 + (origin - base);
      if (opencvFloat) local = static_cast<float>(local);
      const double sx = std::floor(local);
      double f = local - sx;
      int s = lo + static_cast<int>(sx);
      if (cubic) {
        if (opencvFloat) {
          float wf[4];
          cubicWeights<float>(static_cast<float>(f), wf);
          std::copy(wf, wf + 4, w);
        } else {
          cubicWeights<double>(f, w);
        }
        for (int k = 0; k < 4; k++) idx[k] = std::min(hi, std::max(lo, s - 1 + k));
      } else {
        if (s < lo) s = lo, f = 0;
        if (s >= hi) s = hi, f = 0;
        idx[0] = s;
        idx[1] = std::min(hi, s + 1);
        w[0] = opencvFloat ? static_cast<double>(1.f - static_cast<float>(f)) : 1 - f;
        w[1] = f;
      }
    }
    for (int k = 0; k < t.count; k++) {
      t.index.push_back(idx[k]);
      t.weight.push_back(static_cast<float>(w[k]));
      t.fixed.push_back(static_cast<int32_t>(std::lrint(static_cast<float>(w[k]) * 2048.f)));
      t.lo = std::min(t.lo, idx[k]);
      t.hi = std::max(t.hi, idx[k]);
    }
  }
  return t;
}

inline uint8_t truncateClipped(float v) { return static_cast<uint8_t>(v < 0.f ? 0.f : v > 255.f ? 255.f : v); }
inline uint8_t truncateClipped(double v) { return static_cast<uint8_t>(v < 0. ? 0. : v > 255. ? 255. : v); }

/**
 * tensorpack 0.2.0's colour augmentors on a uint8 image (dataflow/imgaug/imgproc.py): Brightness and Contrast compute
 * in float32 and clip (the image is uint8), Saturation blends with cv2's fixed-point grey in float64 and casts back
 * without clipping (out-of-range values wrap), Lighting adds in float64 and clips; every cast truncates. Brightness,
 * Contrast and Lighting map each channel's values through a function, so runs of them compose into one lookup table
 * per channel (Contrast's mean comes from the channel's histogram through the table); only Saturation, which mixes
 * channels, rewrites the pixels. Returns the tables the pixels still go through.
 */
void jitterUint8(std::vector<uint8_t>& img, const double* p, uint8_t (&lut)[3][256]) {
  const size_t n = img.size();
  // cv2.COLOR_BGR2GRAY / RGB2GRAY on 8-bit images: weights 1868, 9617, 4899 over 2^14, rounded.
  const bool bgrGrey = p[GREY0] < p[GREY2];
  const int g0 = bgrGrey ? 1868 : 4899, g1 = 9617, g2 = bgrGrey ? 4899 : 1868;
  int64_t hist[3][256];
  bool counted = false;
  for (int c = 0; c < 3; c++)
    for (int v = 0; v < 256; v++) lut[c][v] = static_cast<uint8_t>(v);
  for (int o = ORDER0; o <= ORDER3; o++) {
    const int step = static_cast<int>(p[o]);
    if (step == 0 && p[BRIGHT_ON] != 0) {
      const float shift = static_cast<float>(p[BRIGHT]);
      for (auto& table : lut)
        for (auto& v : table) v = truncateClipped(static_cast<float>(v) + shift);
    } else if (step == 1) {
      if (!counted) {
        std::fill(&hist[0][0], &hist[0][0] + 3 * 256, 0);
        for (size_t i = 0; i < n; i += 3)
          for (int c = 0; c < 3; c++) hist[c][img[i + c]]++;
        counted = true;
      }
      const float r = static_cast<float>(p[CONTRAST]);
      for (int c = 0; c < 3; c++) {
        // Sums of whole levels below 2^24 are exact in float32, so numpy's float32 mean is this quotient rounded.
        int64_t sum = 0;
        for (int v = 0; v < 256; v++) sum += hist[c][v] * lut[c][v];
        const float mean = static_cast<float>(static_cast<double>(sum) / static_cast<double>(n / 3));
        for (auto& v : lut[c]) {
          const float d = static_cast<float>(v) - mean;
          const float scaled = d * r;
          v = truncateClipped(scaled + mean);
        }
      }
    } else if (step == 2 && p[SAT_ON] != 0) {
      const double s = p[SAT];
      double kept[256], grey[256];
      for (int v = 0; v < 256; v++) kept[v] = v * s, grey[v] = v * (1 - s);
      for (size_t i = 0; i < n; i += 3) {
        const uint8_t q0 = lut[0][img[i]], q1 = lut[1][img[i + 1]], q2 = lut[2][img[i + 2]];
        const double g = grey[(q0 * g0 + q1 * g1 + q2 * g2 + (1 << 13)) >> 14];
        img[i] = static_cast<uint8_t>(static_cast<int32_t>(kept[q0] + g));
        img[i + 1] = static_cast<uint8_t>(static_cast<int32_t>(kept[q1] + g));
        img[i + 2] = static_cast<uint8_t>(static_cast<int32_t>(kept[q2] + g));
      }
      for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) lut[c][v] = static_cast<uint8_t>(v);
      counted = false;
    } else if (step == 3 && p[LIGHT_ON] != 0) {
      for (int c = 0; c < 3; c++)
        for (auto& v : lut[c]) v = truncateClipped(v + p[LIGHT0 + c]);
    }
  }
}

/**
 * The float arithmetic of the color-jitter transform (src/components/transform/color-jitter.ts): the steps compose
 * into one affine map A·x + b, contrast's means carried through the map from the input's.
 */
void composeJitter(const double* p, const double* means, double* A, double* b) {
  for (int i = 0; i < 9; i++) A[i] = i % 4 == 0 ? 1 : 0;
  b[0] = b[1] = b[2] = 0;
  for (int o = ORDER0; o <= ORDER3; o++) {
    const int step = static_cast<int>(p[o]);
    if (step == 0 && p[BRIGHT_ON] != 0) {
      for (int r = 0; r < 3; r++) b[r] += p[BRIGHT];
    } else if (step == 1) {
      const double f = p[CONTRAST];
      double m[3];
      for (int r = 0; r < 3; r++) m[r] = A[3 * r] * means[0] + A[3 * r + 1] * means[1] + A[3 * r + 2] * means[2] + b[r];
      for (int i = 0; i < 9; i++) A[i] *= f;
      for (int r = 0; r < 3; r++) b[r] = b[r] * f + (1 - f) * m[r];
    } else if (step == 2 && p[SAT_ON] != 0) {
      const double s = p[SAT];
      double S[9], nA[9], nb[3];
      for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) S[3 * r + c] = (r == c ? s : 0) + (1 - s) * p[GREY0 + c];
      for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++) nA[3 * r + c] = S[3 * r] * A[c] + S[3 * r + 1] * A[3 + c] + S[3 * r + 2] * A[6 + c];
        nb[r] = S[3 * r] * b[0] + S[3 * r + 1] * b[1] + S[3 * r + 2] * b[2];
      }
      std::copy(nA, nA + 9, A);
      std::copy(nb, nb + 3, b);
    } else if (step == 3 && p[LIGHT_ON] != 0) {
      for (int r = 0; r < 3; r++) b[r] += p[LIGHT0 + r];
    }
  }
}

struct Decoder {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  Decoder() {
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = onError;
    err.pub.emit_message = onMessage;
    jpeg_create_decompress(&cinfo);
  }
  ~Decoder() { jpeg_destroy_decompress(&cinfo); }
};

/** The horizontal pass: each decoded row resampled along x with the taps' float or fixed-point weights. */
template <typename T, int K>
void resizeRowsK(const std::vector<uint8_t>& region, size_t stride, int nrows, const Taps& tx, JDIMENSION xoff,
                 const std::vector<T>& weights, std::vector<T>& rows, size_t rowLen) {
  rows.resize(rowLen * nrows);
  const size_t outW = rowLen / 3;
  thread_local std::vector<int> offsets;
  offsets.resize(outW * K);
  for (size_t i = 0; i < outW * K; i++) offsets[i] = 3 * (tx.index[i] - static_cast<int>(xoff));
  for (int r = 0; r < nrows; r++) {
    const uint8_t* src = region.data() + stride * r;
    T* dst = rows.data() + rowLen * r;
    const int* off = offsets.data();
    const T* w = weights.data();
    for (size_t x = 0; x < outW; x++, off += K, w += K) {
      T a0 = 0, a1 = 0, a2 = 0;
      for (int k = 0; k < K; k++) {
        const uint8_t* px = src + off[k];
        a0 += px[0] * w[k];
        a1 += px[1] * w[k];
        a2 += px[2] * w[k];
      }
      dst[3 * x] = a0;
      dst[3 * x + 1] = a1;
      dst[3 * x + 2] = a2;
    }
  }
}

template <typename T>
void resizeRows(const std::vector<uint8_t>& region, size_t stride, int nrows, const Taps& tx, JDIMENSION xoff,
                const std::vector<T>& weights, std::vector<T>& rows, size_t rowLen) {
  if (tx.count == 4) return resizeRowsK<T, 4>(region, stride, nrows, tx, xoff, weights, rows, rowLen);
  if (tx.count == 2) return resizeRowsK<T, 2>(region, stride, nrows, tx, xoff, weights, rows, rowLen);
  resizeRowsK<T, 1>(region, stride, nrows, tx, xoff, weights, rows, rowLen);
}

struct Region {
  int decodedW, decodedH;  // the image's size at the chosen DCT scale
  JDIMENSION xoff, cols;   // decoded columns held (the crop rounded out to whole iMCUs)
};

/**
 * Runs f, turning a libjpeg error into a damaged image: the error longjmps out of f back here, so f and what it calls
 * keep only plain locals (nothing with a destructor to skip).
 */
template <typename F>
bool guarded(Decoder& dec, Job& job, F&& f) {
  if (setjmp(dec.err.jump)) {
    jpeg_abort_decompress(&dec.cinfo);
    job.status = DAMAGED;
    job.reason = dec.err.message;
    return false;
  }
  f();
  return true;
}

// Decodes rows first..last of the columns [xoff, xoff + cols) (rounded out by libjpeg) into `region`.
bool readRows(Decoder& dec, Job& job, int first, int last, Region& r, std::vector<uint8_t>& region) {
  return guarded(dec, job, [&] {
    jpeg_decompress_struct& cinfo = dec.cinfo;
    jpeg_start_decompress(&cinfo);
    if (r.xoff > 0 || r.cols < cinfo.output_width) jpeg_crop_scanline(&cinfo, &r.xoff, &r.cols);
    if (first > 0) jpeg_skip_scanlines(&cinfo, static_cast<JDIMENSION>(first));
    const size_t stride = static_cast<size_t>(r.cols) * 3;
    region.resize(stride * static_cast<size_t>(last - first + 1));
    while (static_cast<int>(cinfo.output_scanline) <= last) {
      JSAMPROW row = region.data() + stride * (cinfo.output_scanline - first);
      jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_abort_decompress(&cinfo);
  });
}

/** Decodes the rows and columns the plan needs and writes the finished image to job.out. */
void processImage(Job& job, const Options& opt) {
  const double* p = job.plan;
  thread_local Decoder dec;
  thread_local std::vector<uint8_t> region;
  thread_local std::vector<float> rows;
  thread_local std::vector<int32_t> rowsFixed;
  thread_local std::vector<uint8_t> pixels;
  thread_local std::vector<float> pixelsFloat;
  jpeg_decompress_struct& cinfo = dec.cinfo;
  const int64_t t0 = threadNs();
  const bool header = guarded(dec, job, [&] {
    jpeg_mem_src(&cinfo, job.bytes, static_cast<unsigned long>(job.length));
    jpeg_read_header(&cinfo, TRUE);
  });
  if (!header) return;
  const int width = static_cast<int>(cinfo.image_width), height = static_cast<int>(cinfo.image_height);
  const auto refuse = [&](Status status, std::string reason) {
    jpeg_abort_decompress(&cinfo);
    job.status = status;
    job.reason = std::move(reason);
  };
  if (static_cast<double>(width) * height > opt.maxPixels)
    return refuse(DAMAGED, "frame header claims " + std::to_string(width) + "×" + std::to_string(height) +
                               " pixels, more than the " + std::to_string(static_cast<long long>(opt.maxPixels)) +
                               " allowed");
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) return refuse(UNSUPPORTED, "CMYK");
  if (width != static_cast<int>(p[SRC_W]) || height != static_cast<int>(p[SRC_H]))
    return refuse(DAMAGED, "its frame headers disagree about the image size");
  const double cropX = p[CROP_X], cropY = p[CROP_Y], cropW = p[CROP_W], cropH = p[CROP_H];
  const int resizeW = static_cast<int>(p[RESIZE_W]), resizeH = static_cast<int>(p[RESIZE_H]);
  const int outW = static_cast<int>(p[OUT_W]), outH = static_cast<int>(p[OUT_H]);
  const bool resize = resizeW != cropW || resizeH != cropH;
  // The largest DCT reduction that keeps the crop at least as large as what it is resized to, among 1/2, 1/4 and 1/8:
  // libjpeg-turbo has SIMD inverse DCTs for those (jidctred) and the full size, plain C ones for the other M/8.
  int m = 8;
  if (opt.dctScaling && resize)
    while (m > 1 && cropW * (m / 2) / 8 >= resizeW && cropH * (m / 2) / 8 >= resizeH) m /= 2;
  cinfo.scale_num = m;
  cinfo.scale_denom = 8;
  cinfo.out_color_space = opt.bgr ? JCS_EXT_BGR : JCS_RGB;
  cinfo.dct_method = JDCT_ISLOW;
  jpeg_calc_output_dimensions(&cinfo);
  Region r{static_cast<int>(cinfo.output_width), static_cast<int>(cinfo.output_height), 0, 0};
  const double fx = static_cast<double>(r.decodedW) / width, fy = static_cast<double>(r.decodedH) / height;
  // OpenCV computes 8-bit resizes' positions and weights in float; emulated where the pixels are the file's own.
  const bool opencvFloat = opt.uint8 && m == 8;
  const bool cubic = p[CUBIC] != 0;
  const Taps tx = makeTaps(static_cast<int>(p[AFTER_X]), outW, resizeW, cropX * fx, cropW * fx, r.decodedW, resize,
                           cubic, opencvFloat);
  const Taps ty = makeTaps(static_cast<int>(p[AFTER_Y]), outH, resizeH, cropY * fy, cropH * fy, r.decodedH, resize,
                           cubic, opencvFloat);
  r.xoff = static_cast<JDIMENSION>(tx.lo);
  r.cols = static_cast<JDIMENSION>(tx.hi - tx.lo + 1);
  const int first = ty.lo, last = ty.hi;
  if (!readRows(dec, job, first, last, r, region)) return;
  const int64_t t1 = threadNs();
  stageNs[0] += t1 - t0;
  const JDIMENSION xoff = r.xoff;
  const size_t stride = static_cast<size_t>(r.cols) * 3;

  // Horizontal pass over the rows the vertical taps read, then the vertical pass.
  const int nrows = last - first + 1;
  const size_t rowLen = static_cast<size_t>(outW) * 3;
  const size_t n = rowLen * outH;
  if (opt.uint8) {
    resizeRows(region, stride, nrows, tx, xoff, tx.fixed, rowsFixed, rowLen);
    // OpenCV sums in int (VResizeCubic<uchar, int, short>): at most 255·2048²·1.1² in magnitude, which fits.
    pixels.resize(n);
    thread_local std::vector<int32_t> acc;
    acc.resize(rowLen);
    for (int y = 0; y < outH; y++) {
      std::fill(acc.begin(), acc.end(), 1 << 21);
      for (int k = 0; k < ty.count; k++) {
        const int32_t* src = rowsFixed.data() + rowLen * (ty.index[y * ty.count + k] - first);
        const int32_t w = ty.fixed[y * ty.count + k];
        for (size_t i = 0; i < rowLen; i++) acc[i] += src[i] * w;
      }
      uint8_t* dst = pixels.data() + rowLen * y;
      for (size_t i = 0; i < rowLen; i++) {
        const int32_t v = acc[i] >> 22;
        dst[i] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
      }
    }
  } else {
    resizeRows(region, stride, nrows, tx, xoff, tx.weight, rows, rowLen);
    pixelsFloat.assign(n, 0.f);
    for (int y = 0; y < outH; y++)
      for (int k = 0; k < ty.count; k++) {
        const float* src = rows.data() + rowLen * (ty.index[y * ty.count + k] - first);
        const float w = ty.weight[y * ty.count + k];
        float* dst = pixelsFloat.data() + rowLen * y;
        for (size_t i = 0; i < rowLen; i++) dst[i] += src[i] * w;
      }
  }

  const int64_t t2 = threadNs();
  stageNs[1] += t2 - t1;
  uint8_t lut[3][256];
  if (opt.uint8 && p[JITTER] != 0) {
    jitterUint8(pixels, p, lut);
  } else {
    for (int c = 0; c < 3; c++)
      for (int v = 0; v < 256; v++) lut[c][v] = static_cast<uint8_t>(v);
  }

  // Colour (float arithmetic), flip and normalisation in one pass into the batch.
  double A[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, b[3] = {0, 0, 0};
  const bool affine = !opt.uint8 && p[JITTER] != 0;
  if (affine) {
    double sum[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i += 3)
      for (int c = 0; c < 3; c++) sum[c] += pixelsFloat[i + c];
    const double means[3] = {sum[0] / (n / 3), sum[1] / (n / 3), sum[2] / (n / 3)};
    composeJitter(p, means, A, b);
  }
  const bool clip = affine && p[CLIP] != 0;
  const bool flipH = p[FLIP_H] != 0, flipV = p[FLIP_V] != 0;
  const double scale[3] = {p[SCALE0], p[SCALE1], p[SCALE2]}, offset[3] = {p[OFFSET0], p[OFFSET1], p[OFFSET2]};
  // uint8 arithmetic: the remaining tables and the normalisation as one float table per channel.
  float level[3][256];
  if (opt.uint8)
    for (int c = 0; c < 3; c++)
      for (int v = 0; v < 256; v++) level[c][v] = static_cast<float>(lut[c][v] * scale[c] + offset[c]);
  for (int y = 0; y < outH; y++) {
    const size_t from = rowLen * (flipV ? outH - 1 - y : y);
    float* dst = job.out + rowLen * y;
    for (int x = 0; x < outW; x++) {
      const size_t s = from + 3 * (flipH ? outW - 1 - x : x);
      if (opt.uint8) {
        for (int c = 0; c < 3; c++) dst[3 * x + c] = level[c][pixels[s + c]];
        continue;
      }
      double v[3];
      if (affine) {
        const double r = pixelsFloat[s], g = pixelsFloat[s + 1], bl = pixelsFloat[s + 2];
        for (int c = 0; c < 3; c++) {
          double o = static_cast<float>(A[3 * c] * r + A[3 * c + 1] * g + A[3 * c + 2] * bl + b[c]);
          if (clip) o = o < 0 ? 0 : o > 255 ? 255 : o;
          v[c] = o;
        }
      } else {
        for (int c = 0; c < 3; c++) v[c] = pixelsFloat[s + c];
      }
      for (int c = 0; c < 3; c++) dst[3 * x + c] = static_cast<float>(v[c] * scale[c] + offset[c]);
    }
  }
  stageNs[2] += threadNs() - t2;
  imagesDone++;
}

/**
 * decodeBatch(files: Buffer[], plans: Float64Array, out: Float32Array, options) → (null | {kind, reason})[]. Runs on the
 * calling thread (an input pipeline worker, each its own thread), not on libuv's pool of 4, so batches scale with
 * train.input_workers.
 */
Napi::Value DecodeBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array files = info[0].As<Napi::Array>();
  Napi::Float64Array plans = info[1].As<Napi::Float64Array>();
  Napi::Float32Array out = info[2].As<Napi::Float32Array>();
  Napi::Object o = info[3].As<Napi::Object>();
  Options opt{o.Get("uint8").ToBoolean(), o.Get("dctScaling").ToBoolean(), o.Get("bgr").ToBoolean(),
              o.Get("maxPixels").ToNumber().DoubleValue()};
  const uint32_t count = files.Length();
  if (plans.ElementLength() != static_cast<size_t>(count) * FIELDS)
    throw Napi::RangeError::New(env, "decodeBatch: plans must hold " + std::to_string(FIELDS) + " values per file");
  std::vector<Job> jobs(count);
  for (uint32_t i = 0; i < count; i++) {
    Napi::Buffer<uint8_t> b = files.Get(i).As<Napi::Buffer<uint8_t>>();
    const double* p = plans.Data() + static_cast<size_t>(i) * FIELDS;
    const size_t size = static_cast<size_t>(p[OUT_W]) * static_cast<size_t>(p[OUT_H]) * 3;
    const size_t offset = static_cast<size_t>(p[SLOT]) * size;
    if (offset + size > out.ElementLength()) throw Napi::RangeError::New(env, "decodeBatch: output buffer too small");
    jobs[i].bytes = b.Data();
    jobs[i].length = b.Length();
    jobs[i].plan = p;
    jobs[i].out = out.Data() + offset;
  }
  for (Job& job : jobs) processImage(job, opt);
  Napi::Array results = Napi::Array::New(env, jobs.size());
  for (size_t i = 0; i < jobs.size(); i++) {
    if (jobs[i].status == OK) {
      results.Set(i, env.Null());
      continue;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("kind", jobs[i].status == DAMAGED ? "damaged" : "unsupported");
    o.Set("reason", jobs[i].reason);
    results.Set(i, o);
  }
  return results;
}

/** stageSeconds() → [decode, resize, pass, images]: CPU seconds the decoding threads spent in each stage, images done. */
Napi::Value StageSeconds(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env(), 4);
  for (uint32_t i = 0; i < 3; i++) out.Set(i, static_cast<double>(stageNs[i].load()) / 1e9);
  out.Set(3u, static_cast<double>(imagesDone.load()));
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeBatch", Napi::Function::New(env, DecodeBatch));
  exports.Set("stageSeconds", Napi::Function::New(env, StageSeconds));
  exports.Set("planFields", Napi::Number::New(env, FIELDS));
  return exports;
}

}  // namespace

NODE_API_MODULE(epsilab_jpeg, Init)
