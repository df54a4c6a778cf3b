//! The LLM `--stream` decoder (chat completions and Responses events), fed in chunks split
//! where the input says, as a network delivers them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nvcf_fuzz::rejected;
use nvcf_shared::clients::nvcf::invoke::read_sse;

fuzz_target!(|data: &[u8]| {
    let Some((&step, body)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(step).map(|c| Ok(c.to_vec())).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut shown = 0usize;
    let outcome = runtime.block_on(read_sse(futures_util::stream::iter(chunks), |text| {
        shown += text.len();
        Ok(())
    }));
    match outcome {
        Ok(events) => assert!(events <= body.len(), "more events than bytes"),
        Err(e) => rejected(&e),
    }
});
