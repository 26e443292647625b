// The live view's tap on the sound: each 128-sample block of the first input, mixed to mono, posted to the page
// as it is processed (the analysis runs on the page, the model in a worker: this thread only copies).
class Tap extends AudioWorkletProcessor {
  process(inputs) {
    const input = inputs[0];
    if (input && input.length) {
      const mono = new Float32Array(input[0].length);
      for (const channel of input) for (let i = 0; i < mono.length; i++) mono[i] += channel[i] / input.length;
      this.port.postMessage(mono, [mono.buffer]);
    }
    return true;
  }
}
registerProcessor("ganimate-tap", Tap);
