//! `PathTemplate::parse` on arbitrary text: never panics; a template it
//! accepts keeps its invariants, and an error points inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use restgate::compile::PathTemplate;

fuzz_target!(|text: &str| {
    match PathTemplate::parse(text) {
        Ok(template) => {
            assert_eq!(template.as_str(), text);
            let segments = template.segments();
            assert!(!segments.is_empty(), "{text:?}: no segments");
            for variable in template.variables() {
                assert!(!variable.segments.is_empty(), "{text:?}: empty variable");
                assert!(
                    variable.segments.end <= segments.len(),
                    "{text:?}: variable past the end"
                );
                assert!(
                    !variable.field_path.parts().is_empty(),
                    "{text:?}: no field"
                );
                let _ = variable.is_single_segment(&template);
            }
            let _ = (template.ends_in_literal(), template.ends_in_variable());
            let _ = template.shape().to_string();
            // The same text parses to the same template.
            assert_eq!(PathTemplate::parse(text).as_ref(), Ok(&template));
        }
        Err(error) => {
            assert!(
                error.offset <= text.len(),
                "{text:?}: offset {} past the end",
                error.offset
            );
            assert!(!error.reason.is_empty());
            let _ = error.to_string();
        }
    }
});
