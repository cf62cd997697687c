// Entry point of the page.
import './styles/app.css';
import { startApp } from './page/app.js';

startApp(document.getElementById('app'));
