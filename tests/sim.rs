mod support;
#[test]
fn builds() {}
