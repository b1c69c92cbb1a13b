import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { showWindow } from "./lib/api";

showWindow();

const app = mount(App, { target: document.getElementById("app")! });
export default app;
