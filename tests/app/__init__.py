"""AppTest tests of every page, with the slow engine parts faked."""
