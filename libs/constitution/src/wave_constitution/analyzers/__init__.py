"""One analyzer per action kind; each turns an action into findings and performs no I/O."""
