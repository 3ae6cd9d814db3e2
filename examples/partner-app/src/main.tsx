import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { loadConfig, makeSdk } from './config';
import './styles.css';

loadConfig().then(
  (config) => {
    createRoot(document.getElementById('root')!).render(
      <StrictMode>
        <App sdk={makeSdk(config)} />
      </StrictMode>,
    );
  },
  (error: Error) => {
    document.getElementById('root')!.textContent = `Could not load the app's settings: ${error.message}`;
  },
);
