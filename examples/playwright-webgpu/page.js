// The page's side: a matmul kernel of webgpu-vae on the page's own GPUDevice.
import { createBuffer, encodeCalls, matmul, readF32, requestGpu, uploadF32 } from 'webgpu-vae/kernels';

/** C = relu(A·B + bias); A: (m, k), B: (k, n), bias: (n), row-major. Returns C, (m, n). */
window.runMatmul = async ({ m, n, k, a, b, bias }) => {
  const { device } = await requestGpu();
  try {
    const c = createBuffer(device, m * n * 4);
    const call = matmul(device, { a: uploadF32(device, a), b: uploadF32(device, b), bias: uploadF32(device, bias), c }, { m, n, k, activation: 'relu' });
    const encoder = device.createCommandEncoder();
    encodeCalls(encoder, [call]);
    device.queue.submit([encoder.finish()]);
    return Array.from(await readF32(device, c));
  } finally {
    device.destroy();
  }
};
document.getElementById('state').textContent = 'ready';
