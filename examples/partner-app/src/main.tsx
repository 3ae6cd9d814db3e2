import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { CrossAppProvider } from '@streamline/cross-app-sdk/react';
import { App } from './App';
import { authConfig, loadConfig } from './config';
import './styles.css';

loadConfig().then(
  (config) => {
    createRoot(document.getElementById('root')!).render(
      <StrictMode>
        <CrossAppProvider config={authConfig(config)}>
          <App />
        </CrossAppProvider>
      </StrictMode>,
    );
  },
  (error: Error) => {
    document.getElementById('root')!.textContent = `Could not load the app's settings: ${error.message}`;
  },
);
