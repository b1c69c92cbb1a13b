// Placeholder until the Rust generator writes this folder (issue 9 item 4).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Commands = Record<string, { input: any; output: any }>;
