export * from "./FileDevice.js"
