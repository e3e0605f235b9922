// Drop-off scanning: where the browser has BarcodeDetector, read the QR code with the camera
// and submit it; everywhere else the typed code works on its own.
(() => {
  const box = document.querySelector("[data-scanner]");
  if (!box || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  const form = document.getElementById("dropoff-form");
  const input = form.querySelector("input[name=code]");
  const video = box.querySelector("[data-scan-video]");
  const status = box.querySelector("[data-scan-status]");
  const start = box.querySelector("[data-scan-start]");
  box.hidden = false;

  start.addEventListener("click", async () => {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (err) {
      status.textContent = start.dataset.denied || "The camera is not available. Type the code.";
      return;
    }
    const detector = new BarcodeDetector({ formats: ["qr_code"] });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    const stop = () => stream.getTracks().forEach((t) => t.stop());
    const look = async () => {
      try {
        const codes = await detector.detect(video);
        if (codes.length) {
          stop();
          input.value = codes[0].rawValue;
          form.requestSubmit();
          return;
        }
      } catch (err) { /* a frame that could not be read: try the next one */ }
      requestAnimationFrame(look);
    };
    look();
  });
})();
