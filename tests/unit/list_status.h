JW_TEST(status_names_and_texts)
JW_TEST(seconds_to_ms)
