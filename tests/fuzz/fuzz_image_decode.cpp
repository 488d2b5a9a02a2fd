// recap::vision::decode_image (include/recap/vision/image.h) on the input as an encoded
// image: recap's own checks (JPEG end-of-image, PNG IEND, the pixel limit read from the
// header), its libjpeg-turbo path for JPEGs (setjmp/longjmp error handling, scanline
// copies) and its OpenCV path for everything else. libjpeg-turbo and OpenCV are the
// system's builds, not instrumented: ASan sees their heap misuse through its interceptors
// only, and libFuzzer's coverage guidance reaches recap's code alone.
// The pixel limit is lowered to 2^22 so that a small input cannot make one run decode a
// 178-megapixel bomb (slow, but refused by design above the default limit).
// Checked property: the decoded image holds width x height x channels bytes, 1..4 channels.
// Documented refusals: recap::InputError.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "recap/vision/image.h"

using namespace recap;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vision::set_max_image_pixels(std::int64_t(1) << 22);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  fuzz::guard([&] {
    const vision::DecodedImage image = vision::decode_image(bytes, "fuzz-image");
    FUZZ_CHECK(image.width > 0 && image.height > 0, "empty image returned");
    FUZZ_CHECK(image.channels >= 1 && image.channels <= 4, "channels " + std::to_string(image.channels));
    FUZZ_CHECK(image.width * std::int64_t(image.height) <= vision::max_image_pixels(), "pixel limit ignored");
    FUZZ_CHECK(image.pixels.size() == static_cast<std::size_t>(image.width) * image.height * image.channels,
               "pixel buffer size");
    unsigned sum = 0;
    for (int y = 0; y < image.height; y += 7) sum += image.row(y)[0];
    volatile unsigned sink = sum;
    (void)sink;
  });
  return 0;
}
