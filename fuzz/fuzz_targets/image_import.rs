//! Image import: any bytes a client uploads go through the dataset service's `examine`
//! (decode under the pixel budget, fundus crop, resize, PNG). It must accept with a
//! `size`×`size` PNG or reject with a reason, never panic or exceed the budget.
#![no_main]

use eyegan_dataset::import::{examine, Examination, ExamineOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the settings so both paths and two sizes are covered.
    let (settings, bytes) = data.split_first().unwrap_or((&0, data));
    let options = ExamineOptions {
        target_size: if settings & 1 == 0 { 8 } else { 32 },
        crop_fundus: settings & 2 == 0,
        max_pixels: 1 << 20,
    };
    match examine(bytes, &options).expect("a file's fault is a rejection, not an error") {
        Examination::Accepted(done) => {
            let image = eyegan_imaging::decode_png_rgb(&done.png).expect("our own PNG decodes");
            assert_eq!(image.dimensions(), (options.target_size, options.target_size));
            assert!(u64::from(done.original_width) * u64::from(done.original_height) <= options.max_pixels);
        }
        Examination::Rejected(rejection) => assert!(!rejection.message.is_empty()),
    }
});
